// One doctor check's outcome, and how it is printed: one line each, with the fix after a
// failure, so a lab admin reading a screenshot knows what to do next.
import type { OsSeam } from "../os/os_seam.ts";
import type { ServiceSeam } from "../os/service_seam.ts";
import type { AgentIdentity } from "../runtime/agent_state.ts";

/** ok: fine; warn: works but worth knowing; fail: something to fix (exit code 1); skip: could not be checked because of an earlier failure. */
export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it; given for every failure. */
  fix?: string;
}

/** What every check may look at; everything that differs per test is here. */
export interface DoctorContext {
  stateDir: string;
  /** agent.json, or null where the folder is not enrolled. */
  identity: AgentIdentity | null;
  /** Servers to check: agent.json's. */
  servers: string[];
  workRoot: string;
  jobUser: string;
  os: OsSeam;
  seam: ServiceSeam;
  env: Record<string, string>;
  /** The local clock, in ms (shifted in tests to fake a skewed machine). */
  now: () => number;
  /** Longest wait for one network step. */
  timeoutMs: number;
  /** How long a just-opened agent socket is watched for the gateway's verdict on the credential. */
  verdictMs: number;
  /** Extra CA certificates (PEM) trusted for TLS, as DENO_CERT would add; tests use it for their own CA. */
  caCerts?: string[];
  /** Below this much free space in the work folder, doctor fails. */
  minFreeDiskBytes: number;
  /** Largest tolerated difference between this clock and the gateway's. */
  maxSkewMs: number;
}

/** A doctor check. */
export type Check = (ctx: DoctorContext) => Promise<CheckResult | CheckResult[]>;

const LABEL: Record<CheckStatus, string> = { ok: "ok  ", warn: "warn", fail: "FAIL", skip: "skip" };

/** `FAIL credential accepted: … — fix: …` */
export function formatResult(r: CheckResult): string {
  return `${LABEL[r.status]} ${r.name}: ${r.detail}${r.fix && r.status !== "ok" ? ` — fix: ${r.fix}` : ""}`;
}

/** host and port of a gateway address (default ports by scheme). */
export function hostPort(server: string): { hostname: string; port: number; tls: boolean } {
  const url = new URL(server);
  const tls = url.protocol === "wss:" || url.protocol === "https:";
  return { hostname: url.hostname.replace(/^\[|\]$/g, ""), port: url.port ? Number(url.port) : tls ? 443 : 80, tls };
}

/** Resolves with `p`, or rejects after `ms` with `what` timed out; `onLate` disposes of a value that comes too late. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string, onLate: (v: T) => void = () => {}): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
    p.then((v) => {
      if (done) return onLate(v);
      done = true;
      clearTimeout(timer);
      resolve(v);
    }, (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

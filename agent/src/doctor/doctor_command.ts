// `labbridge-agent doctor [--state-dir <dir>]`: every check, one line each, with the fix for
// each failure; exit 1 when any failed. Run it as the service runs (root; on Windows
// elevated, or as SYSTEM through `psexec -s`) to see what the service sees.
import { CLOCK_SKEW_WARN_MS } from "../../../packages/protocol/src/index.ts";
import { applyProxySetting } from "../session/proxy.ts";
import { resolve } from "node:path";
import { jobSettings } from "../attempt/job_setup.ts";
import type { OsSeam } from "../os/os_seam.ts";
import type { ServiceSeam } from "../os/service_seam.ts";
import { type AgentIdentity, DEFAULT_JOB_USER, defaultWorkRoot, readIdentity } from "../runtime/agent_state.ts";
import { type Check, type CheckResult, type DoctorContext, formatResult, messageOf } from "./check.ts";
import { clockSkew } from "./clock_skew.ts";
import { credentialAccepted } from "./credential_accepted.ts";
import { diskFree } from "./disk_free.ts";
import { gatewayReachable } from "./gateway_reachable.ts";
import { gpusVisible } from "./gpus_visible.ts";
import { jobAccountUsable } from "./job_account_usable.ts";
import { proxyInUse } from "./proxy_in_use.ts";
import { serviceRunning } from "./service_running.ts";
import { stateFolderPermissions } from "./state_folder_permissions.ts";
import { tlsValid } from "./tls_valid.ts";

/** Every check, in the order a lab admin would fix things. */
export const CHECKS: Check[] = [
  gatewayReachable,
  proxyInUse,
  tlsValid,
  credentialAccepted,
  clockSkew,
  gpusVisible,
  jobAccountUsable,
  diskFree,
  stateFolderPermissions,
  serviceRunning,
];

/** The defaults of everything DoctorContext leaves to tune. */
export const DOCTOR_LIMITS = {
  timeoutMs: 5_000,
  verdictMs: 1_500,
  minFreeDiskBytes: 20 * 1024 ** 3,
  maxSkewMs: CLOCK_SKEW_WARN_MS,
};

/** Runs `checks` one after another; a check that throws is reported as failed, never ends the run. */
export async function runChecks(ctx: DoctorContext, checks: Check[] = CHECKS): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    try {
      const r = await check(ctx);
      results.push(...(Array.isArray(r) ? r : [r]));
    } catch (e) {
      results.push({
        name: check.name || "check",
        status: "fail",
        detail: `the check itself failed: ${messageOf(e)}`,
        fix: "report this to the LabBridge maintainers",
      });
    }
  }
  return results;
}

export interface DoctorDeps {
  os: OsSeam;
  seam: ServiceSeam;
  print: (line: string) => void;
  env?: Record<string, string>;
  now?: () => number;
  checks?: Check[];
  limits?: Partial<typeof DOCTOR_LIMITS> & { caCerts?: string[] };
}

/**
 * The environment the checks read, with agent.json's proxy applied as `run` applies it. Without
 * an injected one it is this process's, changed in place, so doctor's own WebSocket and fetch
 * take the agent's road too.
 */
function doctorEnv(identity: AgentIdentity | null, injected: Record<string, string> | undefined): Record<string, string> {
  const setting = { ...(identity?.proxy !== undefined ? { proxy: identity.proxy } : {}), ...(identity?.no_proxy !== undefined ? { no_proxy: identity.no_proxy } : {}) };
  if (!injected) {
    applyProxySetting(setting, Deno.env);
    return Deno.env.toObject();
  }
  const env = { ...injected };
  applyProxySetting(setting, { set: (k, v) => void (env[k] = v), delete: (k) => void delete env[k] });
  return env;
}

/** Builds the context for `stateDir`; a damaged or unreadable agent.json becomes a failed line. */
export async function doctorContext(stateDir: string, deps: DoctorDeps): Promise<{ ctx: DoctorContext; early: CheckResult[] }> {
  const early: CheckResult[] = [];
  let identity: AgentIdentity | null = null;
  try {
    identity = await readIdentity(stateDir);
  } catch (e) {
    early.push({
      name: "agent.json",
      status: "fail",
      detail: messageOf(e),
      fix: "run doctor elevated (root / Run as administrator); if the file is damaged, enroll again",
    });
  }
  const settings = identity
    ? jobSettings(stateDir, identity, { workDir: null, jobUser: null, passEnv: null })
    : { workRoot: defaultWorkRoot(stateDir), jobUser: DEFAULT_JOB_USER };
  const ctx: DoctorContext = {
    stateDir,
    identity,
    servers: identity?.servers ?? [],
    workRoot: settings.workRoot,
    jobUser: settings.jobUser,
    os: deps.os,
    seam: deps.seam,
    env: doctorEnv(identity, deps.env),
    now: deps.now ?? Date.now,
    ...DOCTOR_LIMITS,
    ...deps.limits,
  };
  return { ctx, early };
}

/** Runs doctor and prints its lines; exit code 1 when any check failed. */
export async function doctorCommand(stateDirArg: string | null, deps: DoctorDeps): Promise<number> {
  const stateDir = stateDirArg ? resolve(stateDirArg) : deps.seam.defaultStateDir();
  const { ctx, early } = await doctorContext(stateDir, deps);
  const results = [...early, ...await runChecks(ctx, deps.checks)];
  for (const r of results) deps.print(formatResult(r));
  const failed = results.filter((r) => r.status === "fail").length;
  deps.print(
    failed === 0 ? `doctor: all ${results.length} checks passed for "${stateDir}"` : `doctor: ${failed} of ${results.length} checks failed for "${stateDir}"`,
  );
  return failed === 0 ? 0 : 1;
}

// The bridge starter: the real processes (local object store, the four services, Deno
// agents) against one isolated environment, with handles to call the API, stop or SIGKILL
// any piece, and read metrics. `npm run dev`, `npm run demo`, the end-to-end and fault
// suites and the benchmark all start the bridge through this one file.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startChild, type Child } from "./child_process.ts";
import { denoRunArgs } from "./deno_agent.ts";
import { killTreeAtOnce, stillAlive } from "./proc_tree.ts";

/** Repository root. */
export const ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

/** The four service kinds. */
export type ServiceKind = "api" | "gateway" | "scheduler" | "lease-reaper";

/** Options of a bridge. */
export interface BridgeOptions {
  /** LB_* environment shared by every service (prefix, database, lease, heartbeat…). */
  env: Record<string, string>;
  /** Folder for logs, object data and agent state; a temp folder when absent. */
  workDir?: string;
  /** Folder for the processes' logs; `<workDir>/logs` when absent. */
  logDir?: string;
  /** Object store port (0 = any free port). */
  ossPort?: number;
}

/** A started agent: its state folder, id and process. */
export interface AgentHandle {
  name: string;
  stateDir: string;
  agentId: string;
  child: Child;
  /** Milliseconds from spawning `run` to the process being ready to connect. */
  startedAt: number;
}

/** A running bridge. */
export class Bridge {
  readonly children = new Map<string, Child>();
  /** Every child ever spawned, restarted ones' predecessors included, for their leftovers. */
  private readonly spawned: Child[] = [];
  /** How each service was started, so it can be started again after a kill. */
  private readonly services = new Map<string, { kind: ServiceKind; env: Record<string, string> }>();
  apiUrl = "";
  gatewayUrl = "";
  ossUrl = "";
  private counter = 0;

  /** Where each process's log file is. */
  readonly logDir: string;

  private constructor(readonly opts: BridgeOptions, readonly workDir: string, private readonly ownsWorkDir: boolean) {
    this.logDir = opts.logDir ?? join(workDir, "logs");
  }

  /** Starts the object store and one of each service. */
  static async start(opts: BridgeOptions): Promise<Bridge> {
    const owns = !opts.workDir;
    const workDir = opts.workDir ?? mkdtempSync(join(tmpdir(), "lb-bridge-"));
    mkdirSync(opts.logDir ?? join(workDir, "logs"), { recursive: true });
    // Run as root (CI), agents run jobs as an unprivileged account (nobody here), and test
    // jobs write pid files and ledgers here: open it like /tmp (sticky, world-writable).
    // The agents' state folders below stay 0700 (the agent enforces it).
    chmodSync(workDir, 0o1777);
    const bridge = new Bridge(opts, workDir, owns);
    try {
      await bridge.startOss();
      await Promise.all([bridge.startService("api"), bridge.startService("gateway"), bridge.startService("scheduler"), bridge.startService("lease-reaper")]);
    } catch (err) {
      await bridge.stop();
      throw err;
    }
    return bridge;
  }

  /** Environment every service process gets. */
  get serviceEnv(): Record<string, string> {
    return { ...this.opts.env, LB_OSS_ENDPOINT: this.ossUrl };
  }

  private spawn(name: string, command: string, args: string[], env: Record<string, string>): Child {
    const child = startChild(name, command, args, { env, cwd: ROOT, logFile: join(this.logDir, `${name}.log`) });
    this.children.set(name, child);
    this.spawned.push(child);
    return child;
  }

  private async startOss(): Promise<void> {
    const child = this.spawn("oss-local", process.execPath, ["--import", "tsx", "infra/oss-local/src/main.ts"], {
      ...this.opts.env,
      LB_OSS_PORT: String(this.opts.ossPort ?? 0),
      LB_OSS_DATA_DIR: join(this.workDir, "oss"),
    });
    const line = await child.waitForMsg("oss-local listening");
    this.ossUrl = String(line.url);
  }

  /** Starts one service process (a second of a kind gets its own name). */
  async startService(kind: ServiceKind, name: string = kind, env: Record<string, string> = {}): Promise<Child> {
    this.services.set(name, { kind, env });
    const child = this.spawn(name, process.execPath, ["--import", "tsx", `services/${kind}/src/main.ts`], { ...this.serviceEnv, ...env });
    const ready = { api: "api listening", gateway: "gateway listening", scheduler: "scheduler started", "lease-reaper": "lease-reaper started" }[kind];
    const line = await child.waitForMsg(ready, 60_000);
    if (kind === "api" && name === "api") this.apiUrl = `http://127.0.0.1:${line.port}`;
    if (kind === "gateway" && name === "gateway") this.gatewayUrl = `ws://127.0.0.1:${line.port}`;
    return child;
  }

  /** Starts a stopped or killed service again, as it was started the first time (same ports, same gateway id). */
  async restartService(name: string): Promise<Child> {
    const spec = this.services.get(name);
    if (!spec) throw new Error(`No service "${name}" in this bridge`);
    if (this.children.get(name)?.running) throw new Error(`Service "${name}" is still running`);
    return this.startService(spec.kind, name, spec.env);
  }

  /** The child process called `name`. */
  child(name: string): Child {
    const c = this.children.get(name);
    if (!c) throw new Error(`No process "${name}" in this bridge`);
    return c;
  }

  /** Calls the API as the admin (or with `token`; null sends no Authorization). */
  async api(method: string, path: string, body?: unknown, opts: { token?: string | null; headers?: Record<string, string>; raw?: string } = {}) {
    const token = opts.token === undefined ? this.opts.env.LB_ADMIN_TOKEN : opts.token;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined || opts.raw !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.apiUrl + path, { method, headers, body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null, headers: res.headers };
  }

  /** Enrolls a new agent (through the API and the gateway) and starts `agent run`. */
  async startAgent(opts: { name?: string; labels?: Record<string, string>; gatewayUrl?: string; env?: Record<string, string> } = {}): Promise<AgentHandle> {
    const name = opts.name ?? `agent-${++this.counter}`;
    const stateDir = join(this.workDir, "agents", name);
    mkdirSync(stateDir, { recursive: true });
    const token = await this.api("POST", "/v1/enrollment-tokens", { ttl_seconds: 600 });
    if (token.status !== 201) throw new Error(`Enrollment token not created: ${JSON.stringify(token.body)}`);
    const labels = Object.entries(opts.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    const enroll = this.spawn(`${name}-enroll`, ...denoRunArgs([
      "enroll", "--server", opts.gatewayUrl ?? this.gatewayUrl, "--token", String(token.body!.token), "--state-dir", stateDir, "--name", name,
      ...(labels ? ["--labels", labels] : []),
    ]), {});
    const { code } = await enroll.exited;
    if (code !== 0) throw new Error(`Enrollment of ${name} failed (exit ${code}):\n${enroll.lines.join("\n")}`);
    const agentId = (JSON.parse(readFileSync(join(stateDir, "agent.json"), "utf8")) as { agent_id: string }).agent_id;
    return this.runAgent({ name, stateDir, agentId }, opts.env);
  }

  /** Starts (or restarts) `agent run` for an enrolled agent; `env` is added to its environment (e.g. a PATH with a fake nvidia-smi first). */
  runAgent(agent: { name: string; stateDir: string; agentId: string }, env: Record<string, string> = {}): AgentHandle {
    const startedAt = Date.now();
    const child = this.spawn(agent.name, ...denoRunArgs(["run", "--state-dir", agent.stateDir]), env);
    return { ...agent, child, startedAt };
  }

  /** Polls the API until the job is in one of `states`; returns the job. */
  async waitForJob(jobId: string, states: string[], timeoutMs = 60_000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, any> | null = null;
    while (Date.now() < deadline) {
      const res = await this.api("GET", `/v1/jobs/${jobId}`);
      last = res.body;
      if (last && states.includes(last.state)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Job ${jobId} not in ${states.join("|")} within ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /** Reads one counter from a Prometheus endpoint (http URL of the service). */
  async metric(baseUrl: string, name: string): Promise<number> {
    const text = await (await fetch(`${baseUrl.replace(/^ws/, "http")}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
    if (!line) throw new Error(`Metric ${name} not found at ${baseUrl}`);
    return Number(line.split(" ").pop());
  }

  /** Stops every process (SIGTERM, then SIGKILL), kills leftovers of test jobs, removes a temp work folder. */
  async stop(): Promise<void> {
    await Promise.all([...this.children.values()].map((c) => c.stop("SIGTERM", 5000)));
    // Jobs of a SIGKILLed agent outlive it, as on a real machine; each child noted the
    // processes below it when it was signalled, so they are ended here by pid.
    for (const c of this.spawned) killTreeAtOnce(c.leftovers.filter(stillAlive));
    if (this.ownsWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}

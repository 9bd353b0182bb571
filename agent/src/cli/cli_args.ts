// Command-line parsing, pure so it is unit-tested without spawning anything.
// Every mistake is a UsageError: main prints it with the usage line and exits 2, so a
// typo in a service definition is caught at once instead of running with a default.
import { endpointUrl, serverUrlProblem } from "../session/server_url.ts";
import { proxyUrlProblem } from "../session/proxy.ts";
import { parseDuration, parseUntil } from "../control/when.ts";
import type { YieldPolicy } from "../control/yield_policy.ts";
import { DEFAULT_LOG_FILE_LIMITS, type LogFileLimits } from "../runtime/log_file.ts";

export const USAGE = [
  "usage: labbridge-agent enroll --server <ws(s)://host:port>[,<ws(s)://host2:port>...] [--token <enrollment token> | --token -] --state-dir <dir> [--name <name>] [--labels k=v,k2=v2]",
  "                              (the token: --token, or LB_ENROLL_TOKEN, or --token - to read it from stdin)",
  "                              [--work-dir <dir>] [--job-user <account>] [--pass-env NAME,NAME2] [--proxy <http://[user:pass@]host:port|none>] [--no-proxy <hosts>]",
  "       labbridge-agent run --state-dir <dir> [--server <ws(s)://host:port>[,...]] [--work-dir <dir>] [--job-user <account>] [--pass-env NAME,...]",
  "                              [--proxy <url|none>] [--no-proxy <hosts>]",
  "                              [--on-activity stop_taking|stop_running] [--resume-after-idle <minutes>] [--gpu-threshold-mb <MB>]",
  "                              [--yield on|off] [--control-port <port>] [--log-max-mb <MB per file, default 10>] [--log-keep <old files, default 5>]",
  "       labbridge-agent status --state-dir <dir>           live state of the running agent (or what is enrolled, if it is not running)",
  "       labbridge-agent pause --state-dir <dir> [--for 2h | --until 18:00] [--reason \"...\"]",
  "                              take no new jobs (running ones go on) until resumed, or for/until the time given",
  "       labbridge-agent resume --state-dir <dir>           lift your pause (an admin's pause from the server stays)",
  "       labbridge-agent snooze --state-dir <dir> --until <18:00|off>",
  "                              keep taking jobs while you use this machine, until then: the agent does not",
  "                              yield to your keyboard, mouse or GPU use; your pause and the admin's still apply",
  "       labbridge-agent idle-reporter --state-dir <dir>    (started at logon in each desktop session) report idle time",
  "       labbridge-agent logs --state-dir <dir> [--lines N] [-f|--follow]",
  "       labbridge-agent service install [--state-dir <dir>] [--job-user <account>]   (as root / an elevated Administrator)",
  "       labbridge-agent service uninstall | start | stop | status",
  "       labbridge-agent service print [--platform windows|linux] [--state-dir <dir>]",
  "       labbridge-agent doctor [--state-dir <dir>]",
].join("\n");

/** The actions of `service`. */
export const SERVICE_ACTIONS = ["install", "uninstall", "start", "stop", "status", "print"] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

/**
 * How jobs run: the work folder, the job account, the agent's variables jobs also get.
 * null: not given (enroll stores the default, run keeps agent.json's).
 */
export interface JobFlags {
  workDir: string | null;
  jobUser: string | null;
  passEnv: string[] | null;
}

/**
 * The HTTP proxy for the gateway and the transfers (session/proxy.ts); null: not given
 * (agent.json's, else the environment's HTTPS_PROXY/NO_PROXY).
 */
export interface ProxyFlags {
  proxy: string | null;
  noProxy: string | null;
}

export type CliCommand =
  | { command: "enroll"; servers: string[]; token: string; stateDir: string; name: string | null; labels: Record<string, string>; jobs: JobFlags; proxy: ProxyFlags }
  /** `servers`, `jobs`, `proxy` and the yield flags override agent.json's for this run; null keeps agent.json's. */
  | {
    command: "run";
    stateDir: string;
    servers: string[] | null;
    jobs: JobFlags;
    proxy: ProxyFlags;
    yieldFlags: Partial<YieldPolicy>;
    controlPort: number | null;
    logFile: LogFileLimits;
  }
  | { command: "status"; stateDir: string }
  | { command: "logs"; stateDir: string; lines: number; follow: boolean }
  /** `untilMs`: when the pause ends by itself (from --for or --until), or null. */
  | { command: "pause"; stateDir: string; reason: string | null; untilMs: number | null }
  | { command: "resume"; stateDir: string }
  /** `untilMs` null: `--until off`, end the snooze. */
  | { command: "snooze"; stateDir: string; untilMs: number | null }
  | { command: "idle-reporter"; stateDir: string }
  /** `stateDir`/`jobUser` null: the platform's service defaults; `platform` null: this machine's (print only). */
  | { command: "service"; action: ServiceAction; stateDir: string | null; jobUser: string | null; platform: "windows" | "linux" | null }
  /** `stateDir` null: the service's default state folder. */
  | { command: "doctor"; stateDir: string | null }
  | { command: "help" };

export class UsageError extends Error {
  override name = "UsageError";
}

const FLAGS_OF: Record<string, { required: string[]; optional: string[]; switches?: string[] }> = {
  enroll: { required: ["server", "state-dir"], optional: ["token", "name", "labels", "work-dir", "job-user", "pass-env", "proxy", "no-proxy"] },
  run: {
    required: ["state-dir"],
    optional: [
      "server", "work-dir", "job-user", "pass-env", "proxy", "no-proxy", "on-activity", "resume-after-idle", "gpu-threshold-mb", "yield", "control-port",
      "log-max-mb", "log-keep",
    ],
  },
  logs: { required: ["state-dir"], optional: ["lines"], switches: ["follow"] },
  status: { required: ["state-dir"], optional: [] },
  pause: { required: ["state-dir"], optional: ["for", "until", "reason"] },
  resume: { required: ["state-dir"], optional: [] },
  snooze: { required: ["state-dir", "until"], optional: [] },
  "idle-reporter": { required: ["state-dir"], optional: [] },
  "service install": { required: [], optional: ["state-dir", "job-user"] },
  "service uninstall": { required: [], optional: ["state-dir"] },
  "service start": { required: [], optional: ["state-dir"] },
  "service stop": { required: [], optional: ["state-dir"] },
  "service status": { required: [], optional: ["state-dir"] },
  "service print": { required: [], optional: ["state-dir", "platform"] },
  doctor: { required: [], optional: ["state-dir"] },
};

const ALIASES: Record<string, string> = { "-f": "--follow" };

/** Lines `logs` prints before following when --lines is not given. */
export const DEFAULT_LOG_LINES = 50;

/** A whole number flag within [min, max]. */
function intFlag(values: Map<string, string>, name: string, min: number, max: number, fallback: number): number {
  const text = values.get(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`--${name} "${text}" must be a whole number from ${min} to ${max}`);
  return n;
}

function yieldFlags(values: Map<string, string>): Partial<YieldPolicy> {
  const out: Partial<YieldPolicy> = {};
  const on = values.get("on-activity");
  if (on !== undefined) {
    if (on !== "stop_taking" && on !== "stop_running") throw new UsageError(`--on-activity "${on}" must be stop_taking or stop_running`);
    out.onActivity = on;
  }
  const idle = values.get("resume-after-idle");
  if (idle !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(idle) || Number(idle) > 1440) throw new UsageError(`--resume-after-idle "${idle}" must be minutes, 0 to 1440`);
    out.resumeAfterIdleMs = Number(idle) * 60_000;
  }
  const mb = values.get("gpu-threshold-mb");
  if (mb !== undefined) {
    if (!/^\d+$/.test(mb)) throw new UsageError(`--gpu-threshold-mb "${mb}" must be a whole number of MB`);
    out.gpuThresholdMb = Number(mb);
  }
  const y = values.get("yield");
  if (y !== undefined) {
    if (y !== "on" && y !== "off") throw new UsageError(`--yield "${y}" must be on or off`);
    out.enabled = y === "on";
  }
  return out;
}

function portFlag(values: Map<string, string>): number | null {
  const p = values.get("control-port");
  if (p === undefined) return null;
  if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw new UsageError(`--control-port "${p}" must be a port number`);
  return Number(p);
}

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,62}$/;

/** Parses `k=v,k2=v2`; keys are simple names so labels stay usable in job requirements. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text.trim() === "") return labels;
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new UsageError(`label "${part}" must look like key=value`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!LABEL_KEY.test(key)) throw new UsageError(`label key "${key}" must be letters, digits, _ . / -`);
    if (value.length > 128) throw new UsageError(`label "${key}" value is longer than 128 characters`);
    if (Object.hasOwn(labels, key)) throw new UsageError(`label "${key}" is given twice`);
    labels[key] = value;
  }
  return labels;
}

/**
 * Parses `--server`: one gateway address or several, comma-separated, in the order enroll
 * tries them. Two spellings of one endpoint (`http://h` and `ws://h/`) count as a duplicate.
 */
export function parseServerList(text: string): string[] {
  const servers: string[] = [];
  const endpoints = new Set<string>();
  for (const part of text.split(",")) {
    const server = part.trim();
    if (server === "") throw new UsageError(`--server "${text}" has an empty entry`);
    const problem = serverUrlProblem(server);
    if (problem) throw new UsageError(`--server "${server}" ${problem}`);
    const endpoint = endpointUrl(server, "agent");
    if (endpoints.has(endpoint)) throw new UsageError(`--server "${server}" is given twice`);
    endpoints.add(endpoint);
    servers.push(server);
  }
  return servers;
}

/**
 * Parses `--pass-env NAME,NAME2`: variables of the agent's environment that jobs also get.
 * LB_ names are the agent's own to set, so passing one is a mistake.
 */
export function parsePassEnv(text: string): string[] {
  const names: string[] = [];
  // An empty list is allowed: `run --pass-env ""` passes nothing for this run.
  if (text.trim() === "") return names;
  for (const part of text.split(",")) {
    const name = part.trim();
    if (name === "") throw new UsageError(`--pass-env "${text}" has an empty entry`);
    if (name.includes("=") || name.includes("\0")) throw new UsageError(`--pass-env "${name}" is not a variable name`);
    if (name.toUpperCase().startsWith("LB_")) throw new UsageError(`--pass-env "${name}": LB_ variables are set by the agent`);
    if (names.some((n) => n.toUpperCase() === name.toUpperCase())) throw new UsageError(`--pass-env "${name}" is given twice`);
    names.push(name);
  }
  return names;
}

const ACCOUNT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.$ -]{0,63}$/;

function enrollToken(values: Map<string, string>, env: { LB_ENROLL_TOKEN?: string }): string {
  const token = values.get("token") ?? (env.LB_ENROLL_TOKEN || undefined);
  if (token === undefined) throw new UsageError("missing --token (or LB_ENROLL_TOKEN, or --token - to read it from stdin)");
  return token;
}

function jobFlags(values: Map<string, string>): JobFlags {
  const jobUser = values.get("job-user") ?? null;
  if (jobUser !== null && !ACCOUNT_NAME.test(jobUser)) throw new UsageError(`--job-user "${jobUser}" is not an account name`);
  const passEnv = values.get("pass-env");
  return { workDir: values.get("work-dir") ?? null, jobUser, passEnv: passEnv === undefined ? null : parsePassEnv(passEnv) };
}

function proxyFlags(values: Map<string, string>): ProxyFlags {
  const proxy = values.get("proxy") ?? null;
  const problem = proxy === null ? null : proxyUrlProblem(proxy);
  if (problem) throw new UsageError(`--proxy "${proxy}" ${problem}`);
  return { proxy, noProxy: values.get("no-proxy") ?? null };
}

/** The value of `--token` that means "read the token from stdin". */
export const TOKEN_FROM_STDIN = "-";

/**
 * Parses argv (without the program name) into one command, or throws UsageError. The
 * enrollment token may come from `env.LB_ENROLL_TOKEN` instead of `--token`, so it need not
 * be on a command line that npm echoes and shell history keeps; `nowMs` anchors --for and --until.
 */
export function parseCliArgs(argv: string[], env: { LB_ENROLL_TOKEN?: string } = {}, nowMs: number = Date.now()): CliCommand {
  const [first, ...afterFirst] = argv;
  if (first === undefined) throw new UsageError("missing command");
  if (first === "help" || first === "--help" || first === "-h") return { command: "help" };
  let command = first;
  let rest = afterFirst;
  if (first === "service") {
    const action = afterFirst[0];
    if (action === undefined || action.startsWith("-")) {
      if (action === "--help" || action === "-h") return { command: "help" };
      throw new UsageError(`service needs an action: ${SERVICE_ACTIONS.join(", ")}`);
    }
    if (!(SERVICE_ACTIONS as readonly string[]).includes(action)) throw new UsageError(`unknown service action "${action}"`);
    command = `service ${action}`;
    rest = afterFirst.slice(1);
  }
  const spec = FLAGS_OF[command];
  if (!spec) throw new UsageError(`unknown command "${command}"`);

  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = ALIASES[rest[i]!] ?? rest[i]!;
    if (arg === "--help" || arg === "-h") return { command: "help" };
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (spec.switches?.includes(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      if (switches.has(name)) throw new UsageError(`--${name} is given twice`);
      switches.add(name);
      continue;
    }
    if (!spec.required.includes(name) && !spec.optional.includes(name)) throw new UsageError(`unknown flag --${name} for ${command}`);
    if (values.has(name)) throw new UsageError(`--${name} is given twice`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = rest[i + 1];
      // A following flag is not a value: `--token --state-dir x` means the token is missing.
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      i++;
    }
    if (value === "" && name !== "labels" && name !== "pass-env" && name !== "no-proxy") throw new UsageError(`--${name} must not be empty`);
    values.set(name, value);
  }
  for (const name of spec.required) if (!values.has(name)) throw new UsageError(`missing --${name}`);

  if (command.startsWith("service ")) {
    const platform = values.get("platform") ?? null;
    if (platform !== null && platform !== "windows" && platform !== "linux") throw new UsageError(`--platform "${platform}" must be windows or linux`);
    const jobUser = jobFlags(values).jobUser;
    return { command: "service", action: command.slice(8) as ServiceAction, stateDir: values.get("state-dir") ?? null, jobUser, platform };
  }
  if (command === "doctor") return { command, stateDir: values.get("state-dir") ?? null };
  const stateDir = values.get("state-dir")!;
  if (command === "run") {
    const server = values.get("server");
    return {
      command, stateDir, servers: server === undefined ? null : parseServerList(server), jobs: jobFlags(values), proxy: proxyFlags(values),
      yieldFlags: yieldFlags(values), controlPort: portFlag(values),
      logFile: {
        maxBytes: intFlag(values, "log-max-mb", 1, 1024, DEFAULT_LOG_FILE_LIMITS.maxBytes / (1024 * 1024)) * 1024 * 1024,
        keep: intFlag(values, "log-keep", 1, 100, DEFAULT_LOG_FILE_LIMITS.keep),
      },
    };
  }
  if (command === "logs") return { command, stateDir, lines: intFlag(values, "lines", 0, 1_000_000, DEFAULT_LOG_LINES), follow: switches.has("follow") };
  if (command === "status" || command === "resume" || command === "idle-reporter") return { command, stateDir };
  if (command === "pause") {
    const forText = values.get("for");
    const untilText = values.get("until");
    if (forText !== undefined && untilText !== undefined) throw new UsageError("give --for or --until, not both");
    let untilMs: number | null = null;
    if (forText !== undefined) {
      const ms = parseDuration(forText);
      if (ms === null) throw new UsageError(`--for "${forText}" must be a duration such as 2h, 90m or 1h30m`);
      untilMs = nowMs + ms;
    }
    if (untilText !== undefined) {
      untilMs = parseUntil(untilText, nowMs);
      if (untilMs === null) throw new UsageError(`--until "${untilText}" must be a time of day such as 18:00 or an RFC 3339 time ahead`);
    }
    const reason = values.get("reason") ?? null;
    if (reason !== null && reason.length > 500) throw new UsageError("--reason must be at most 500 characters");
    return { command, stateDir, reason, untilMs };
  }
  if (command === "snooze") {
    const text = values.get("until")!;
    if (text === "off") return { command, stateDir, untilMs: null };
    const untilMs = parseUntil(text, nowMs);
    if (untilMs === null) throw new UsageError(`--until "${text}" must be a time of day such as 18:00, an RFC 3339 time ahead, or off`);
    return { command, stateDir, untilMs };
  }
  const name = values.get("name") ?? null;
  if (name !== null && name.length > 128) throw new UsageError("--name must be at most 128 characters");
  return {
    command: "enroll",
    servers: parseServerList(values.get("server")!),
    token: enrollToken(values, env),
    stateDir,
    name,
    labels: parseLabels(values.get("labels") ?? ""),
    jobs: jobFlags(values),
    proxy: proxyFlags(values),
  };
}

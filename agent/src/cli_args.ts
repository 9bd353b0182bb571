// Command-line parsing, pure so it is unit-tested without spawning anything.
// Every mistake is a UsageError: main prints it with the usage line and exits 2, so a
// typo in a service definition is caught at once instead of running with a default.
import { endpointUrl, serverUrlProblem } from "./server_url.ts";

export const USAGE = [
  "usage: labbridge-agent enroll --server <ws(s)://host:port>[,<ws(s)://host2:port>...] [--token <enrollment token> | --token -] --state-dir <dir> [--name <name>] [--labels k=v,k2=v2]",
  "                              (the token: --token, or LB_ENROLL_TOKEN, or --token - to read it from stdin)",
  "                              [--work-dir <dir>] [--job-user <account>] [--pass-env NAME,NAME2]",
  "       labbridge-agent run --state-dir <dir> [--server <ws(s)://host:port>[,...]] [--work-dir <dir>] [--job-user <account>] [--pass-env NAME,...]",
  "       labbridge-agent status --state-dir <dir>",
].join("\n");

/**
 * How jobs run: the work folder, the job account, the agent's variables jobs also get.
 * null: not given (enroll stores the default, run keeps agent.json's).
 */
export interface JobFlags {
  workDir: string | null;
  jobUser: string | null;
  passEnv: string[] | null;
}

export type CliCommand =
  | { command: "enroll"; servers: string[]; token: string; stateDir: string; name: string | null; labels: Record<string, string>; jobs: JobFlags }
  /** `servers` and `jobs` override agent.json's for this run; null keeps agent.json's. */
  | { command: "run"; stateDir: string; servers: string[] | null; jobs: JobFlags }
  | { command: "status"; stateDir: string }
  | { command: "help" };

export class UsageError extends Error {
  override name = "UsageError";
}

const FLAGS_OF: Record<string, { required: string[]; optional: string[] }> = {
  enroll: { required: ["server", "state-dir"], optional: ["token", "name", "labels", "work-dir", "job-user", "pass-env"] },
  run: { required: ["state-dir"], optional: ["server", "work-dir", "job-user", "pass-env"] },
  status: { required: ["state-dir"], optional: [] },
};

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

/** The value of `--token` that means "read the token from stdin". */
export const TOKEN_FROM_STDIN = "-";

/**
 * Parses argv (without the program name) into one command, or throws UsageError. The
 * enrollment token may come from `env.LB_ENROLL_TOKEN` instead of `--token`, so it need not
 * be on a command line that npm echoes and shell history keeps.
 */
export function parseCliArgs(argv: string[], env: { LB_ENROLL_TOKEN?: string } = {}): CliCommand {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError("missing command");
  if (command === "help" || command === "--help" || command === "-h") return { command: "help" };
  const spec = FLAGS_OF[command];
  if (!spec) throw new UsageError(`unknown command "${command}"`);

  const values = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--help" || arg === "-h") return { command: "help" };
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
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
    if (value === "" && name !== "labels" && name !== "pass-env") throw new UsageError(`--${name} must not be empty`);
    values.set(name, value);
  }
  for (const name of spec.required) if (!values.has(name)) throw new UsageError(`missing --${name}`);

  const stateDir = values.get("state-dir")!;
  if (command === "run") {
    const server = values.get("server");
    return { command, stateDir, servers: server === undefined ? null : parseServerList(server), jobs: jobFlags(values) };
  }
  if (command === "status") return { command, stateDir };
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
  };
}

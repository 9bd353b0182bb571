// A job's environment is an allow-list, never the agent's own: the agent may run in a
// shell or service that holds secrets (an admin token, cloud keys), and a job runs the code
// of whichever lab user submitted it. `Deno.Command` gets `clearEnv: true` and exactly this.
//
//   from the agent's environment: the names below, plus what the admin names with --pass-env
//   set by the agent:             HOME (and USERPROFILE/APPDATA on Windows), TMPDIR/TMP/TEMP
//                                 inside the attempt's folder, USER/LOGNAME for a job account
//   then the job's own `env`, then the GPUs it was given (CUDA_VISIBLE_DEVICES), then
//   LB_JOB_ID, LB_ATTEMPT_ID, LB_INPUT_DIR, LB_OUTPUT_DIR.
//
// The GPUs come after the job's `env` so a job cannot widen its own share: a job given one
// GPU that sets CUDA_VISIBLE_DEVICES=0,1 still sees one. A job given none sees none
// (CUDA_VISIBLE_DEVICES=""), since the GPUs of the box are other attempts' to hold
// (docs/decisions/0016-gpu-telemetry-state.md).
//
// Windows compares variable names without case (`Path` is `PATH`), so there every name is
// matched, and a later value replaces an earlier one, case-insensitively.

import type { AssignedGpu } from "../../../packages/protocol/src/index.ts";

/** Names taken from the agent's environment on every OS. */
const COMMON_NAMES = ["PATH", "LANG", "LANGUAGE", "TZ"];
/** Name prefixes taken on every OS: locale, CUDA and the NVIDIA driver. */
const COMMON_PREFIXES = ["LC_", "CUDA_", "NVIDIA_"];
/** What Windows programs (cmd, Python, the CUDA runtime) need to start at all. */
const WINDOWS_NAMES = [
  "PATHEXT",
  "SYSTEMROOT",
  "SYSTEMDRIVE",
  "WINDIR",
  "COMSPEC",
  "OS",
  "PROGRAMDATA",
  "PROGRAMFILES",
  "PROGRAMFILES(X86)",
  "PROGRAMW6432",
  "COMMONPROGRAMFILES",
  "COMMONPROGRAMFILES(X86)",
  "COMMONPROGRAMW6432",
  "NUMBER_OF_PROCESSORS",
  "PROCESSOR_ARCHITECTURE",
  "PROCESSOR_IDENTIFIER",
  "PROCESSOR_LEVEL",
  "PROCESSOR_REVISION",
  "COMPUTERNAME",
  "DRIVERDATA",
];

export type EnvFlavor = "windows" | "posix";

/**
 * CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER for the GPUs an attempt was given, by uuid
 * where known (stable across reboots and PCI changes), else by index; nothing
 * when the assignment said nothing (an older gateway: the environment is left as it was).
 */
export function gpuEnv(gpus: AssignedGpu[] | undefined): Record<string, string> {
  if (gpus === undefined) return {};
  // PCI bus order makes indices mean what nvidia-smi calls them (CUDA's default is "fastest first").
  return {
    CUDA_VISIBLE_DEVICES: gpus.map((g) => g.uuid ?? String(g.index)).join(","),
    CUDA_DEVICE_ORDER: "PCI_BUS_ID",
  };
}

/** The flavour of environment names on the OS the agent runs on. */
export function envFlavor(os: string): EnvFlavor {
  return os === "windows" ? "windows" : "posix";
}

/** An environment under construction; on Windows names collide case-insensitively. */
class EnvBuilder {
  private readonly vars = new Map<string, [string, string]>();
  constructor(private readonly flavor: EnvFlavor) {}
  private key(name: string): string {
    return this.flavor === "windows" ? name.toUpperCase() : name;
  }
  set(name: string, value: string): void {
    this.vars.delete(this.key(name));
    this.vars.set(this.key(name), [name, value]);
  }
  toObject(): Record<string, string> {
    return Object.fromEntries(this.vars.values());
  }
}

/** Whether `name` from the agent's environment is on the allow-list (without --pass-env). */
export function isAllowListed(name: string, flavor: EnvFlavor): boolean {
  const n = flavor === "windows" ? name.toUpperCase() : name;
  if (COMMON_NAMES.includes(n) || COMMON_PREFIXES.some((p) => n.startsWith(p))) return true;
  return flavor === "windows" && WINDOWS_NAMES.includes(n);
}

/**
 * The part of a job's environment taken from the agent's: allow-listed names plus the
 * `passEnv` names, as they are set in `agentEnv`. Computed once at startup.
 */
export function inheritedEnv(agentEnv: Record<string, string>, passEnv: string[], flavor: EnvFlavor): Record<string, string> {
  const norm = (n: string) => flavor === "windows" ? n.toUpperCase() : n;
  const passed = new Set(passEnv.map(norm));
  const env = new EnvBuilder(flavor);
  for (const [name, value] of Object.entries(agentEnv)) {
    if (isAllowListed(name, flavor) || passed.has(norm(name))) env.set(name, value);
  }
  return env.toObject();
}

/** --pass-env names the agent's environment does not hold (worth a warning at startup). */
export function missingPassEnv(agentEnv: Record<string, string>, passEnv: string[], flavor: EnvFlavor): string[] {
  const norm = (n: string) => flavor === "windows" ? n.toUpperCase() : n;
  const have = new Set(Object.keys(agentEnv).map(norm));
  return passEnv.filter((n) => !have.has(norm(n)));
}

export interface AttemptEnvParts {
  flavor: EnvFlavor;
  /** From inheritedEnv. */
  inherited: Record<string, string>;
  /** The attempt's own home and temp folders. */
  home: string;
  tmp: string;
  /** The job account's name, when jobs run as one. */
  user: string | null;
  /** The job's `env` from the assignment. */
  job: Record<string, string>;
  /** The GPUs the assignment gave ([]: none); undefined when it did not say. */
  gpus?: AssignedGpu[];
  /** LB_JOB_ID, LB_ATTEMPT_ID, LB_INPUT_DIR, LB_OUTPUT_DIR: set last, so nothing replaces them. */
  lb: Record<string, string>;
}

/** The whole environment one attempt's process gets. */
export function attemptEnv(p: AttemptEnvParts): Record<string, string> {
  const env = new EnvBuilder(p.flavor);
  for (const [k, v] of Object.entries(p.inherited)) env.set(k, v);
  env.set("HOME", p.home);
  for (const name of ["TMPDIR", "TMP", "TEMP"]) env.set(name, p.tmp);
  if (p.flavor === "windows") { for (const name of ["USERPROFILE", "APPDATA", "LOCALAPPDATA"]) env.set(name, p.home); }
  if (p.user) { for (const name of ["USER", "LOGNAME"]) env.set(name, p.user); }
  for (const [k, v] of Object.entries(p.job)) env.set(k, v);
  for (const [k, v] of Object.entries(gpuEnv(p.gpus))) env.set(k, v);
  for (const [k, v] of Object.entries(p.lb)) env.set(k, v);
  return env.toObject();
}

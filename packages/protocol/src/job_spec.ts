// The job a client submits (API.md "Jobs"), checked once at the API edge. The same shape
// travels in `attempt.assign` to the agent, so both sides read one definition.
import { type Checked, type Problem, isIntIn, isObject, isStringRecord, unknownFieldProblems, utf8Length } from "./check.ts";
import { inputKeyProblem, inputPathProblem } from "./paths.ts";

/** One input file: an object key and where it lands in the attempt's input folder. */
export interface JobInput {
  key: string;
  path: string;
  /** Known when the key came from POST /v1/uploads; the agent then checks it. */
  size?: number;
  sha256?: string;
}

/** The operating systems a job may ask for, as stored (lowercase). */
export const JOB_OS = ["windows", "linux", "macos"] as const;
/** One of JOB_OS. */
export type JobOs = (typeof JOB_OS)[number];

/** What an agent must offer to run a job (API.md "Jobs" → `requirements`). */
export interface JobRequirements {
  /** Normalized lowercase at submit; "darwin" is stored as "macos". */
  os?: JobOs;
  /** Every one must equal the agent's label of that name. */
  labels?: Record<string, string>;
  /** Whole GPUs the job gets to itself (none when absent). */
  gpus?: number;
  /** Least memory, in MiB, each of its GPUs must have. */
  gpu_memory_mb?: number;
  /** A case-insensitive substring of each GPU's name, e.g. "4090". */
  gpu_name?: string;
}

/** Most GPUs a job may ask for. */
export const MAX_JOB_GPUS = 16;
/** Lowest and highest `priority` (API.md: -10..10, default 0). */
export const PRIORITY_RANGE = { min: -10, max: 10 } as const;
const REQUIREMENT_KEYS = new Set(["os", "labels", "gpus", "gpu_memory_mb", "gpu_name"]);
/** The fields a client may send in a job submission (API.md "Jobs"); any other is refused. */
export const JOB_SPEC_FIELDS = ["name", "command", "env", "inputs", "requirements", "timeout_seconds", "max_attempts", "priority"] as const;
// Size and sha256 of an input come from its upload's record, never from the client.
const INPUT_FIELDS = ["key", "path"] as const;
// Other spellings of an OS a client may send; what an agent reports (Deno.build.os) included.
const OS_ALIASES: Record<string, JobOs> = { windows: "windows", linux: "linux", macos: "macos", darwin: "macos" };

/** A checked job submission with defaults filled in. */
export interface JobSpec {
  name: string | null;
  command: string[];
  env: Record<string, string>;
  inputs: JobInput[];
  requirements: JobRequirements;
  timeout_seconds: number;
  max_attempts: number;
  /** Orders one owner's own jobs, highest first. */
  priority: number;
}

/** Default run time limit: one day. */
export const DEFAULT_TIMEOUT_SECONDS = 86_400;
/** Longest allowed run time: 30 days. */
export const MAX_TIMEOUT_SECONDS = 30 * 86_400;
/** Largest job spec, as JSON: job messages stay small on streams and sockets. */
export const MAX_JOB_SPEC_BYTES = 8 * 1024;
const MAX_INPUTS = 64;
const MAX_ATTEMPTS_LIMIT = 10;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks an untrusted job submission and fills in defaults. */
export function checkJobSpec(body: unknown): Checked<JobSpec> {
  const problems: Problem[] = [];
  const bad = (field: string, reason: string) => problems.push({ field, reason });
  if (!isObject(body)) return { ok: false, problems: [{ field: "", reason: "must be a JSON object" }] };
  problems.push(...unknownFieldProblems(body, JOB_SPEC_FIELDS));

  const { name = null, command, env = {}, inputs = [], requirements = {} } = body;
  const timeout = body.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS;
  const maxAttempts = body.max_attempts ?? 1;
  const priority = body.priority ?? 0;

  if (name !== null && (typeof name !== "string" || name.length > 200)) bad("name", "must be a string of at most 200 characters");
  if (!Array.isArray(command) || command.length === 0) bad("command", "must be a non-empty array of strings");
  else if (!command.every((a) => typeof a === "string")) bad("command", "must contain only strings");
  else if (command[0] === "") bad("command[0]", "must not be empty");
  else {
    // A NUL ends a C string: the program would run with an argument other than the one shown.
    for (const [i, a] of command.entries()) if (a.includes("\0")) bad(`command[${i}]`, "contains a NUL character");
  }
  if (!isStringRecord(env)) bad("env", "must be an object of strings");
  else {
    for (const [k, v] of Object.entries(env)) {
      // ENV_NAME already keeps out "=" and NUL; a NUL in a value would cut it short at exec.
      if (!ENV_NAME.test(k)) bad(`env.${k}`, "is not a valid variable name");
      // Windows reads variable names without case: lb_output_dir would be LB_OUTPUT_DIR there.
      else if (k.toUpperCase().startsWith("LB_")) bad(`env.${k}`, "LB_ variables are set by the agent");
      else if (v.includes("\0")) bad(`env.${k}`, "value contains a NUL character");
    }
  }
  if (!Array.isArray(inputs) || inputs.length > MAX_INPUTS) bad("inputs", `must be an array of at most ${MAX_INPUTS} items`);
  else {
    const seen = new Set<string>();
    inputs.forEach((input, i) => {
      if (!isObject(input)) return bad(`inputs[${i}]`, "must be an object");
      problems.push(...unknownFieldProblems(input, INPUT_FIELDS, `inputs[${i}].`));
      const keyProblem = inputKeyProblem(input.key);
      if (keyProblem) bad(`inputs[${i}].key`, keyProblem);
      const pathProblem = inputPathProblem(input.path);
      if (pathProblem) bad(`inputs[${i}].path`, pathProblem);
      else if (seen.has(input.path as string)) bad(`inputs[${i}].path`, "is used twice");
      else seen.add(input.path as string);
    });
  }
  const checkedRequirements = checkRequirements(requirements, problems);
  if (!isIntIn(timeout, 1, MAX_TIMEOUT_SECONDS)) bad("timeout_seconds", `must be a whole number from 1 to ${MAX_TIMEOUT_SECONDS}`);
  if (!isIntIn(maxAttempts, 1, MAX_ATTEMPTS_LIMIT)) bad("max_attempts", `must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}`);
  if (!isIntIn(priority, PRIORITY_RANGE.min, PRIORITY_RANGE.max)) bad("priority", `must be a whole number from ${PRIORITY_RANGE.min} to ${PRIORITY_RANGE.max}`);
  if (problems.length > 0) return { ok: false, problems };

  const spec: JobSpec = {
    name: name as string | null,
    command: command as string[],
    env: env as Record<string, string>,
    inputs: (inputs as Record<string, unknown>[]).map((i) => ({ key: i.key as string, path: i.path as string })),
    requirements: checkedRequirements,
    timeout_seconds: timeout as number,
    max_attempts: maxAttempts as number,
    priority: priority as number,
  };
  if (utf8Length(JSON.stringify(spec)) > MAX_JOB_SPEC_BYTES) {
    return { ok: false, problems: [{ field: "", reason: `job spec is larger than ${MAX_JOB_SPEC_BYTES} bytes` }] };
  }
  return { ok: true, value: spec };
}

// A requirement no agent can meet would wait for ever, so each key and value is checked
// here: an unknown key (a typo such as "gpu") is refused rather than ignored, and the OS
// is stored in the one spelling agents are matched on.
function checkRequirements(req: unknown, problems: Problem[]): JobRequirements {
  const bad = (field: string, reason: string) => problems.push({ field: `requirements.${field}`, reason });
  if (!isObject(req)) {
    problems.push({ field: "requirements", reason: "must be an object" });
    return {};
  }
  const out: JobRequirements = {};
  for (const key of Object.keys(req)) {
    if (!REQUIREMENT_KEYS.has(key)) problems.push({ field: `requirements.${key}`, reason: `is not a known requirement: expected one of ${[...REQUIREMENT_KEYS].join(", ")}`, code: "unknown_field" });
  }
  const { os, labels, gpus, gpu_memory_mb: gpuMemory, gpu_name: gpuName } = req;
  if (os !== undefined) {
    const normalized = typeof os === "string" ? OS_ALIASES[os.trim().toLowerCase()] : undefined;
    if (typeof os !== "string") bad("os", "must be a string");
    else if (!normalized) bad("os", `is "${os}": expected one of ${JOB_OS.join(", ")}`);
    else out.os = normalized;
  }
  if (labels !== undefined) {
    if (!isStringRecord(labels)) bad("labels", "must be an object of strings");
    else out.labels = labels;
  }
  if (gpus !== undefined) {
    if (!isIntIn(gpus, 0, MAX_JOB_GPUS)) bad("gpus", `must be a whole number from 0 to ${MAX_JOB_GPUS}`);
    else out.gpus = gpus;
  }
  if (gpuMemory !== undefined) {
    if (!isIntIn(gpuMemory, 1, 1 << 24)) bad("gpu_memory_mb", `must be a whole number from 1 to ${1 << 24}`);
    else out.gpu_memory_mb = gpuMemory;
  }
  if (gpuName !== undefined) {
    if (typeof gpuName !== "string" || gpuName.trim() === "" || gpuName.length > 128) bad("gpu_name", "must be a non-empty string of at most 128 characters");
    else out.gpu_name = gpuName;
  }
  // Memory and name qualify the GPUs a job is given ("each of them"): without a count they
  // would be read as met by any agent, so they are refused rather than silently ignored.
  for (const key of ["gpu_memory_mb", "gpu_name"] as const) {
    if (out[key] !== undefined && !(out.gpus !== undefined && out.gpus >= 1)) bad(key, "needs requirements.gpus of at least 1");
  }
  return out;
}

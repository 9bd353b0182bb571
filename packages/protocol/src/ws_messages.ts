// The WebSocket protocol between an agent and a gateway: one JSON object per text frame,
// each with a `type`. Both sides parse with these functions, so a frame either matches
// a declared message or is refused with a reason.
import { type Checked, type Problem, isIntIn, isObject, isStringArray, isStringRecord } from "./check.ts";
import { isId, ID_PREFIX } from "./ids.ts";
import type { JobInput } from "./job_spec.ts";
import { relativePathProblem } from "./paths.ts";
import { isErrorCode, type ErrorCode } from "./errors.ts";
import { type AgentPause, type AgentPauseSource, isAgentOwnedPause } from "./agent_pause.ts";
import { MAX_PARTS, type SignedRequest, type UploadPartUrl } from "./uploads.ts";

/** Largest frame either side accepts; files never travel on the socket. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** Most outputs one attempt may report (in `attempt.outputs` chunks). */
export const MAX_OUTPUTS_PER_ATTEMPT = 100_000;
/** Protocol version the agent sends in `hello`. */
export const PROTOCOL_VERSION = 1;

/** WebSocket close codes the gateway uses, so the agent can tell why it was closed. */
export const CLOSE_CODES = {
  normal: 1000,
  /** Gateway is stopping: reconnect, to this or another gateway. */
  going_away: 1001,
  /** The gateway cannot reach Redis or MySQL for a moment: reconnect (to any gateway) and ask again. */
  unavailable: 1011,
  /** A proxy or gateway restarting on purpose (RFC 6455); treated like going_away. */
  service_restart: 1012,
  /** RFC 6455 "Try Again Later": the gateway is admitting no more agents now; the reason says when to retry (retry_hint.ts). */
  try_again_later: 1013,
  malformed: 4400,
  unauthorized: 4401,
  revoked: 4403,
  replaced: 4409,
  too_large: 4413,
  /** The session sent one frame type faster than its limit: reconnect with backoff. */
  rate_limited: 4429,
} as const;

/** Most GPUs one agent may report. */
export const MAX_GPUS = 16;

/**
 * A GPU as the agent reports it in hello: its inventory (index, uuid, name, memory_mb, as
 * stored in MySQL `agents.gpus`) and, from a current agent, the reading at that moment.
 * Older agents send only name, memory_mb and maybe uuid and utilization_percent.
 */
export interface Gpu {
  /** nvidia-smi's index; absent from older agents (then the position in the list). */
  index?: number;
  name: string;
  memory_mb: number;
  uuid?: string;
  memory_used_mb?: number;
  utilization_percent?: number;
  temperature_c?: number;
  /** Processes on this GPU that are not the agent's jobs: how many, and the memory they use (null: not reported, e.g. Windows WDDM). */
  other_processes?: { count: number; memory_mb: number | null };
}

/** The GPU inventory kept in MySQL `agents.gpus` and matched on by the scheduler. */
export interface GpuInventory {
  index: number;
  uuid?: string;
  name: string;
  memory_mb: number;
}

/**
 * One GPU's live reading, compact for heartbeats:
 * [index, memory_used_mb, utilization_percent, temperature_c, other_processes_count, other_processes_mb].
 * null means "not known" (nvidia-smi said [N/A], or an older agent does not report it).
 */
export type GpuReading = [number, number | null, number | null, number | null, number | null, number | null];

/** The host's live reading, compact for heartbeats: [cpu_percent, memory_mb, memory_used_mb, disk_free_mb] (disk: the work folder's). */
export type HostReading = [number | null, number | null, number | null, number | null];

/** A GPU that the scheduler gave an attempt to itself: the agent sets CUDA_VISIBLE_DEVICES from these. */
export interface AssignedGpu {
  index: number;
  uuid?: string;
}

/** The inventory part of a reported GPU (what MySQL keeps); `position` stands in for a missing index. */
export function gpuInventoryOf(g: Gpu, position: number): GpuInventory {
  const inv: GpuInventory = { index: g.index ?? position, name: g.name, memory_mb: g.memory_mb };
  if (g.uuid !== undefined) inv.uuid = g.uuid;
  return inv;
}

/** The reading part of a reported GPU, in heartbeat form. */
export function gpuReadingOf(g: Gpu, position: number): GpuReading {
  return [g.index ?? position, g.memory_used_mb ?? null, g.utilization_percent ?? null, g.temperature_c ?? null,
    g.other_processes?.count ?? null, g.other_processes?.memory_mb ?? null];
}

/** One file the agent produced, as reported in `attempt.finished`. */
export interface OutputFile {
  path: string;
  key: string;
  size: number;
  sha256: string;
}

// ---- agent → gateway -------------------------------------------------------------------

/** First frame after connecting: who the agent is and which attempts it holds. */
export interface HelloMessage {
  type: "hello";
  protocol: number;
  agent_version: string;
  os: string;
  hostname: string;
  gpus: Gpu[];
  /** Attempts the agent holds (assigned or running); the gateway keeps those whose lease holds. */
  running: string[];
  /** The agent process started fresh and knows nothing of earlier attempts. */
  restarted: boolean;
  /** Frame compressions the agent reads and writes (frame_codec.ts); older agents leave it out. */
  compression?: string[];
  /** The host's reading at hello; older agents leave it out. */
  host?: HostReading;
  /**
   * The agent's clock (ms since the epoch) when it sent hello, so the gateway can tell how far
   * it is off (presigned URLs expire in minutes); older agents leave it out.
   */
  clock_ms?: number;
}
/**
 * Periodic proof of life; renews presence and the leases of `running`. Telemetry rides
 * along only when it changed since the last acknowledged heartbeat (hello counts as one),
 * so an idle agent's heartbeat is `{"type":"heartbeat","running":[]}`.
 */
export interface HeartbeatMessage {
  type: "heartbeat";
  running: string[];
  /** Readings of the GPUs that changed. */
  g?: GpuReading[];
  /** The host's reading, when it changed. */
  h?: HostReading;
  /** The whole GPU list again, when the inventory itself changed (a GPU appeared, went, or was swapped). */
  gpus?: Gpu[];
}
/** The agent asks to start an attempt; it spawns nothing until `attempt.start_granted`. */
export interface StartRequestMessage {
  type: "attempt.start_request";
  attempt_id: string;
}
/** A short progress line from a running attempt. */
export interface ProgressMessage {
  type: "attempt.progress";
  attempt_id: string;
  message: string;
}
/** A job's output stream, as live log lines name it. */
export type LogStream = "stdout" | "stderr";

/** Longest live log line, in UTF-16 units; the agent cuts longer ones (the full line stays in the stored log). */
export const MAX_LOG_LINE_CHARS = 1024;
/** Most lines of one stream in one `attempt.log` frame. */
export const MAX_LOG_LINES_PER_FRAME = 200;

/**
 * What the gateway lets one attempt's live log carry, lines and UTF-8 bytes of line text.
 * An agent caps itself well below (agent/src/attempt/live_log.ts DEFAULT_LIVE_LOG_LIMITS): 20 lines and 4 KB
 * a second; the bursts cover frames bunched up behind a stalled link for as long as the
 * agent waits before reconnecting (docs/decisions/0029). Over it, the session is cut (4429).
 */
export const LOG_ALLOWANCE = { linesPerSecond: 50, lineBurst: 600, bytesPerSecond: 10 * 1024, byteBurst: 128 * 1024 } as const;

/**
 * Live log lines of a running attempt since its previous frame, per stream, in the order the
 * job printed them; best effort (a frame lost to a disconnect is not sent again: the full
 * logs go to the store). Lines the agent's limit left out are counted in `skipped` and shown
 * in place as one line "… N lines skipped".
 */
export interface LogMessage {
  type: "attempt.log";
  attempt_id: string;
  stdout?: string[];
  stderr?: string[];
  /** Lines left out since the previous frame, per stream. */
  skipped?: { stdout?: number; stderr?: number };
}

/** The line that stands for `n` lines a live log left out. */
export function skippedLine(n: number): string {
  return `… ${n} line${n === 1 ? "" : "s"} skipped`;
}

/**
 * An output as a chunk reports it. `key` may be left out when it is the one the path gives
 * (outputKey of the attempt), which it always is for a current gateway: that saves a
 * hundred-odd bytes per output.
 */
export type ChunkOutput = Omit<OutputFile, "key"> & { key?: string };

/**
 * One chunk of an attempt's outputs, sent (each until acknowledged) before attempt.finished.
 * Sending a chunk again, to any gateway, records nothing twice.
 */
export interface OutputsMessage {
  type: "attempt.outputs";
  attempt_id: string;
  /** The chunk's number (0, 1, …), echoed in its ack. */
  seq: number;
  outputs: ChunkOutput[];
}
/**
 * The attempt ended: its outcome, exit code and outputs. A current agent sends its outputs
 * in `attempt.outputs` chunks first and here only `output_count` and `outputs_digest`
 * (outputsDigest over every output of the attempt); `outputs` then is empty. An older agent
 * lists them all in `outputs` instead (as many as fit in one frame).
 */
export interface FinishedMessage {
  type: "attempt.finished";
  attempt_id: string;
  outcome: "succeeded" | "failed" | "canceled";
  exit_code: number | null;
  error: { code: ErrorCode; message: string } | null;
  outputs: OutputFile[];
  /** How many outputs the attempt has in all (chunks and `outputs` together). */
  output_count?: number;
  /** outputsDigest over all of them. */
  outputs_digest?: string;
}
/** Ask for presigned PUT URLs for files of an attempt (paths relative to its prefix). */
export interface PresignRequestMessage {
  type: "presign.request";
  request_id: string;
  attempt_id: string;
  files: PresignFile[];
  /** Ask for a compact answer (see PresignedUpload); older agents leave it out and get every field. */
  compact?: boolean;
  /** The agent can upload in parts: a file over the gateway's part size then gets a multipart plan. Older agents leave it out. */
  multipart?: boolean;
}
/**
 * The pause the agent holds by itself (its owner's `agent pause`, or yielding to the
 * workstation's user), or null when none holds. Sent after every welcome and on every
 * change; the gateway stores it and announces agent.paused / agent.resumed. The API's own
 * pause is not in it: the server owns that one.
 */
export interface PauseStateMessage {
  type: "agent.pause_state";
  pause: (AgentPause & { source: AgentPauseSource }) | null;
}
/**
 * One file of a presign.request. To go on with a multipart upload the gateway already
 * started, name its `upload_id` and the `parts` still wanted (none: just fresh complete and
 * abort requests); the gateway then starts nothing new.
 */
export interface PresignFile {
  path: string;
  size: number;
  upload_id?: string;
  parts?: number[];
}
/** Most part numbers one presign.request file may ask for. */
export const MAX_PARTS_PER_PRESIGN = 1000;
/** Exchange an enrollment token (in the Authorization header) for a credential. */
export interface EnrollMessage {
  type: "enroll";
  name: string;
  hostname: string;
  os: string;
  labels: Record<string, string>;
}

/** Any frame an agent may send. */
export type AgentMessage =
  | HelloMessage
  | HeartbeatMessage
  | StartRequestMessage
  | ProgressMessage
  | LogMessage
  | OutputsMessage
  | FinishedMessage
  | PresignRequestMessage
  | PauseStateMessage
  | EnrollMessage;

// ---- gateway → agent -------------------------------------------------------------------

/**
 * Clock skew between an agent and its gateway past which both warn (and `agent doctor`
 * fails): presigned URLs carry absolute expiry times and are valid for minutes.
 */
export const CLOCK_SKEW_WARN_MS = 60_000;

/** Reply to hello: the server owns the heartbeat interval and lease TTL. */
export interface WelcomeMessage {
  type: "welcome";
  agent_id: string;
  session_id: string;
  /** Heartbeat interval while the agent holds any attempt (its leases need several renewals per TTL). */
  heartbeat_seconds: number;
  /**
   * Heartbeat interval while it holds none (decision 0028); absent from older gateways,
   * where `heartbeat_seconds` applies throughout.
   */
  idle_heartbeat_seconds?: number;
  lease_ttl_seconds: number;
  /** The frame compression both sides use from here on (one the hello offered), or absent/null for none. */
  compression?: string | null;
  /** The gateway's clock (ms since the epoch) when it sent welcome: the agent measures its clock skew against it. */
  server_time_ms?: number;
}
/** A job to run: the spec plus presigned GET URLs for its inputs. */
export interface AssignMessage {
  type: "attempt.assign";
  attempt_id: string;
  job_id: string;
  command: string[];
  env: Record<string, string>;
  inputs: (JobInput & { url: string })[];
  timeout_seconds: number;
  /**
   * The GPUs the job gets to itself ([] for a job that asked for none: it sees no GPU).
   * Absent from an older gateway: the agent then leaves CUDA_VISIBLE_DEVICES alone.
   */
  gpus?: AssignedGpu[];
}
/** The lease is marked started: the agent may spawn the process now. */
export interface StartGrantedMessage {
  type: "attempt.start_granted";
  attempt_id: string;
}
/** Stop an attempt: canceled by a user, its lease is gone, or the server ended it for running past its timeout. */
export interface StopMessage {
  type: "attempt.cancel" | "attempt.abort";
  attempt_id: string;
  reason: "canceled" | "lease_lost" | "start_refused" | "timeout";
}
/**
 * A presigned upload for one requested path. A compact answer leaves out what the agent
 * knows already: `key` (then attemptPrefix + path), `method` (then PUT) and empty `headers`.
 */
export interface PresignedUpload {
  path: string;
  /** The single PUT; absent when the file goes in parts (`multipart`). */
  url?: string;
  key?: string;
  method?: "PUT";
  /** Headers each PUT (the single one, or every part) must send exactly. */
  headers?: Record<string, string>;
  multipart?: MultipartUploadUrls;
}
/**
 * A file sent in parts: part `n` holds bytes [(n-1)*part_size, n*part_size). `parts` are
 * the URLs of the first (or asked-for) parts that fit the answer; the agent asks for the
 * rest with `upload_id` as it goes. `complete` takes a CompleteMultipartUpload XML body
 * (uploads.ts completeUploadXml); `abort` (DELETE) drops the parts of an upload given up.
 */
export interface MultipartUploadUrls {
  upload_id: string;
  part_size: number;
  parts: UploadPartUrl[];
  complete: SignedRequest;
  abort: SignedRequest;
}
/** Presigned upload URLs, or why there are none. The answer never exceeds MAX_FRAME_BYTES: one that would gets payload_too_large. */
export interface PresignResponseMessage {
  type: "presign.response";
  request_id: string;
  uploads: PresignedUpload[];
  error: { code: ErrorCode; message: string } | null;
}
/** The API paused the agent (take no new work) or lifted that pause. */
export interface PauseMessage {
  type: "agent.pause" | "agent.resume";
  reason: string | null;
  /** When the API's pause ends by itself (RFC 3339); absent or null: until resumed. */
  until?: string | null;
}
/** Enrollment worked: keep this credential. */
export interface EnrolledMessage {
  type: "enrolled";
  agent_id: string;
  credential: string;
}
/**
 * Answer to every heartbeat. The agent counts any frame as proof the path still works; a
 * gateway that says nothing for a few heartbeat intervals is taken as gone (a half-open
 * connection after a NAT or Wi-Fi drop), and the agent reconnects instead of waiting for
 * TCP to notice, which can take many minutes.
 */
export interface HeartbeatAckMessage {
  type: "heartbeat.ack";
}
/**
 * The gateway has the attempt's result: forwarded (accepted), or refused because the lease
 * was already gone (the server decided the attempt's fate without it). Either way the
 * agent stops re-sending the report.
 */
export interface ReportAckMessage {
  type: "attempt.report_ack";
  attempt_id: string;
  accepted: boolean;
}
/**
 * The gateway recorded a chunk of outputs (accepted), or refused it: the lease is not this
 * agent's any more, the attempt is already settled, or a key lies outside its prefix.
 */
export interface OutputsAckMessage {
  type: "attempt.outputs_ack";
  attempt_id: string;
  seq: number;
  accepted: boolean;
}
/** A frame was refused; the connection stays open unless a close follows. */
export interface ErrorMessage {
  type: "error";
  code: ErrorCode;
  message: string;
}

/** Any frame a gateway may send. */
export type ServerMessage =
  | WelcomeMessage
  | AssignMessage
  | StartGrantedMessage
  | StopMessage
  | PresignResponseMessage
  | PauseMessage
  | EnrolledMessage
  | HeartbeatAckMessage
  | ReportAckMessage
  | OutputsAckMessage
  | ErrorMessage;

// ---- parsing ---------------------------------------------------------------------------

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

const isAttemptId = (v: unknown) => isId(v, ID_PREFIX.attempt);
const isShortString = (v: unknown, max = 256): v is string => typeof v === "string" && v.length <= max;

const isOptIntIn = (v: unknown, min: number, max: number) => v === undefined || isIntIn(v, min, max);
const isNullOrIntIn = (v: unknown, min: number, max: number) => v === null || isIntIn(v, min, max);
const MAX_MB = 1 << 24;

function checkGpus(v: unknown): boolean {
  return Array.isArray(v) && v.length <= MAX_GPUS &&
    v.every((g) => isObject(g) && isShortString(g.name) && isIntIn(g.memory_mb, 0, MAX_MB) &&
      isOptIntIn(g.index, 0, 255) && (g.uuid === undefined || isShortString(g.uuid, 128)) &&
      isOptIntIn(g.memory_used_mb, 0, MAX_MB) && isOptIntIn(g.utilization_percent, 0, 100) &&
      isOptIntIn(g.temperature_c, -100, 300) &&
      (g.other_processes === undefined || (isObject(g.other_processes) && isIntIn(g.other_processes.count, 0, 1_000_000) &&
        isNullOrIntIn(g.other_processes.memory_mb, 0, MAX_MB))));
}

function checkGpuReadings(v: unknown): boolean {
  return Array.isArray(v) && v.length <= MAX_GPUS && v.every((r) =>
    Array.isArray(r) && r.length === 6 && isIntIn(r[0], 0, 255) && isNullOrIntIn(r[1], 0, MAX_MB) &&
    isNullOrIntIn(r[2], 0, 100) && isNullOrIntIn(r[3], -100, 300) && isNullOrIntIn(r[4], 0, 1_000_000) && isNullOrIntIn(r[5], 0, MAX_MB));
}

function checkHostReading(v: unknown): boolean {
  return Array.isArray(v) && v.length === 4 && isNullOrIntIn(v[0], 0, 100) &&
    v.slice(1).every((x) => isNullOrIntIn(x, 0, Number.MAX_SAFE_INTEGER));
}

const isSha256 = (v: unknown) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);

function checkOutputs(v: unknown, problems: Problem[], keyOptional = false): void {
  if (!Array.isArray(v) || v.length > 10_000) return void problems.push({ field: "outputs", reason: "must be an array" });
  v.forEach((o, i) => {
    if (!isObject(o)) return void problems.push({ field: `outputs[${i}]`, reason: "must be an object" });
    const p = relativePathProblem(o.path) ?? (keyOptional && o.key === undefined ? null : relativePathProblem(o.key));
    if (p) problems.push({ field: `outputs[${i}]`, reason: p });
    if (!isIntIn(o.size, 0, Number.MAX_SAFE_INTEGER)) problems.push({ field: `outputs[${i}].size`, reason: "must be a size" });
    if (!isSha256(o.sha256)) problems.push({ field: `outputs[${i}].sha256`, reason: "must be hex sha256" });
  });
}

/** Parses and checks a frame from an agent. */
export function parseAgentMessage(text: string): Checked<AgentMessage> {
  const m = parseJsonObject(text);
  if (!m) return { ok: false, problems: [{ field: "", reason: "is not a JSON object" }] };
  const problems: Problem[] = [];
  const need = (ok: boolean, field: string, reason: string) => ok || problems.push({ field, reason });
  switch (m.type) {
    case "hello":
      need(isIntIn(m.protocol, 1, 1000), "protocol", "must be a version number");
      need(isShortString(m.agent_version, 64), "agent_version", "must be a short string");
      need(isShortString(m.os, 32), "os", "must be a short string");
      need(isShortString(m.hostname), "hostname", "must be a short string");
      need(checkGpus(m.gpus), "gpus", "must be a list of at most 16 GPUs {index, uuid, name, memory_mb, readings}");
      need(m.host === undefined || checkHostReading(m.host), "host", "must be [cpu_percent, memory_mb, memory_used_mb, disk_free_mb]");
      need(Array.isArray(m.running) && m.running.every(isAttemptId), "running", "must be a list of attempt ids");
      need(typeof m.restarted === "boolean", "restarted", "must be a boolean");
      need(m.compression === undefined || (isStringArray(m.compression) && m.compression.length <= 8 && m.compression.every((c) => isShortString(c, 32))), "compression", "must be a short list of names");
      need(m.clock_ms === undefined || isIntIn(m.clock_ms, 0, Number.MAX_SAFE_INTEGER), "clock_ms", "must be a time in ms since the epoch");
      break;
    case "heartbeat":
      need(Array.isArray(m.running) && m.running.every(isAttemptId), "running", "must be a list of attempt ids");
      need(m.g === undefined || checkGpuReadings(m.g), "g", "must be a list of GPU readings [index, used_mb, util, temp, others, others_mb]");
      need(m.h === undefined || checkHostReading(m.h), "h", "must be [cpu_percent, memory_mb, memory_used_mb, disk_free_mb]");
      need(m.gpus === undefined || checkGpus(m.gpus), "gpus", "must be a list of at most 16 GPUs {index, uuid, name, memory_mb, readings}");
      break;
    case "attempt.start_request":
      need(isAttemptId(m.attempt_id), "attempt_id", "must be an attempt id");
      break;
    case "attempt.progress":
      need(isAttemptId(m.attempt_id), "attempt_id", "must be an attempt id");
      need(isShortString(m.message, 1024), "message", "must be at most 1024 characters");
      break;
    case "attempt.log": {
      need(isAttemptId(m.attempt_id), "attempt_id", "must be an attempt id");
      for (const stream of ["stdout", "stderr"] as const) {
        const lines = m[stream];
        need(lines === undefined || (Array.isArray(lines) && lines.length <= MAX_LOG_LINES_PER_FRAME && lines.every((l) => isShortString(l, MAX_LOG_LINE_CHARS))),
          stream, `must be a list of at most ${MAX_LOG_LINES_PER_FRAME} lines of at most ${MAX_LOG_LINE_CHARS} characters`);
      }
      const skipped = m.skipped;
      need(skipped === undefined || (isObject(skipped) && Object.keys(skipped).every((k) => k === "stdout" || k === "stderr") &&
        isOptIntIn(skipped.stdout, 0, Number.MAX_SAFE_INTEGER) && isOptIntIn(skipped.stderr, 0, Number.MAX_SAFE_INTEGER)),
        "skipped", "must be {stdout, stderr} counts");
      break;
    }
    case "attempt.finished":
      need(isAttemptId(m.attempt_id), "attempt_id", "must be an attempt id");
      need(["succeeded", "failed", "canceled"].includes(m.outcome as string), "outcome", "must be succeeded, failed or canceled");
      need(m.exit_code === null || isIntIn(m.exit_code, -(2 ** 31), 2 ** 32), "exit_code", "must be an integer or null");
      need(m.error === null || (isObject(m.error) && isErrorCode(m.error.code) && isShortString(m.error.message, 2048)), "error", "must be null or {code, message}");
      checkOutputs(m.outputs, problems);
      if (m.output_count !== undefined || m.outputs_digest !== undefined) {
        need(isIntIn(m.output_count, 0, MAX_OUTPUTS_PER_ATTEMPT), "output_count", `must be a count of at most ${MAX_OUTPUTS_PER_ATTEMPT}`);
        need(isSha256(m.outputs_digest), "outputs_digest", "must be hex sha256");
      }
      break;
    case "attempt.outputs":
      need(isAttemptId(m.attempt_id), "attempt_id", "must be an attempt id");
      need(isIntIn(m.seq, 0, MAX_OUTPUTS_PER_ATTEMPT), "seq", "must be a chunk number");
      need(Array.isArray(m.outputs) && m.outputs.length > 0, "outputs", "must list at least one output");
      if (Array.isArray(m.outputs) && m.outputs.length > 0) checkOutputs(m.outputs, problems, true);
      break;
    case "presign.request":
      need(isShortString(m.request_id, 64), "request_id", "must be a short string");
      need(isAttemptId(m.attempt_id), "attempt_id", "must be an attempt id");
      need(Array.isArray(m.files) && m.files.length > 0 && m.files.length <= 1000, "files", "must be a list of 1 to 1000 files");
      need(m.compact === undefined || typeof m.compact === "boolean", "compact", "must be a boolean");
      need(m.multipart === undefined || typeof m.multipart === "boolean", "multipart", "must be a boolean");
      if (Array.isArray(m.files)) {
        m.files.forEach((f, i) => {
          const p = isObject(f) ? relativePathProblem(f.path) : "must be an object";
          if (p) problems.push({ field: `files[${i}].path`, reason: p });
          if (isObject(f) && !isIntIn(f.size, 0, Number.MAX_SAFE_INTEGER)) problems.push({ field: `files[${i}].size`, reason: "must be a size" });
          if (isObject(f)) checkPresignContinuation(f, `files[${i}]`, problems);
        });
      }
      break;
    case "agent.pause_state":
      need(m.pause === null || isAgentOwnedPause(m.pause), "pause", "must be null or {source: local | user_active | gpu_busy, reason, until}");
      break;
    case "enroll":
      need(isShortString(m.name, 128) && (m.name as string).length > 0, "name", "must be 1 to 128 characters");
      need(isShortString(m.hostname), "hostname", "must be a short string");
      need(isShortString(m.os, 32), "os", "must be a short string");
      need(isStringRecord(m.labels), "labels", "must be an object of strings");
      break;
    default:
      problems.push({ field: "type", reason: `unknown message type "${String(m.type)}"` });
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: m as unknown as AgentMessage };
}

/** Checks the multipart continuation fields of one presign.request file. */
function checkPresignContinuation(f: Record<string, unknown>, field: string, problems: Problem[]): void {
  // The id goes raw into a signed query string: only URL-safe characters (OSS ids are hex).
  if (f.upload_id !== undefined && !(typeof f.upload_id === "string" && /^[A-Za-z0-9_.~-]{1,128}$/.test(f.upload_id))) {
    problems.push({ field: `${field}.upload_id`, reason: "must be 1 to 128 URL-safe characters" });
  }
  if (f.parts === undefined) return;
  if (f.upload_id === undefined) problems.push({ field: `${field}.parts`, reason: "needs upload_id" });
  if (!(Array.isArray(f.parts) && f.parts.length <= MAX_PARTS_PER_PRESIGN && f.parts.every((n) => isIntIn(n, 1, MAX_PARTS)))) {
    problems.push({ field: `${field}.parts`, reason: `must be at most ${MAX_PARTS_PER_PRESIGN} part numbers of 1 to ${MAX_PARTS}` });
  }
}

const SERVER_TYPES = new Set([
  "welcome", "attempt.assign", "attempt.start_granted", "attempt.cancel", "attempt.abort",
  "presign.response", "agent.pause", "agent.resume", "enrolled", "heartbeat.ack", "attempt.report_ack",
  "attempt.outputs_ack", "error",
]);

/** Parses a frame from the gateway; the agent trusts its server, so only the envelope is checked. */
export function parseServerMessage(text: string): Checked<ServerMessage> {
  const m = parseJsonObject(text);
  if (!m) return { ok: false, problems: [{ field: "", reason: "is not a JSON object" }] };
  if (!SERVER_TYPES.has(m.type as string)) return { ok: false, problems: [{ field: "type", reason: `unknown message type "${String(m.type)}"` }] };
  if (m.type === "attempt.assign" && !(isAttemptId(m.attempt_id) && isStringArray(m.command))) {
    return { ok: false, problems: [{ field: "attempt.assign", reason: "lacks attempt_id or command" }] };
  }
  return { ok: true, value: m as unknown as ServerMessage };
}

/** Formats problems as one line for a log or an error message. */
export function describeProblems(problems: Problem[]): string {
  return problems.map((p) => (p.field ? `${p.field} ${p.reason}` : p.reason)).join("; ");
}

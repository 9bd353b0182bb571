// What the HTTP API answers (API.md), as its clients read it: the job object, lists, agents,
// outputs, logs, tokens, audit rows and the events stream. One declaration for every client
// (the dashboard in web/, `lb` in cli/, the store that builds the job view); upload plans are
// in uploads.ts. Types only, so the browser bundle takes nothing from here.
import type { AgentPause } from "./agent_pause.ts";
import type { JobSpec } from "./job_spec.ts";
import type { AttemptState, JobState } from "./states.ts";

/** Why a PENDING job waits (API.md "Jobs" → `queue`). */
export type QueueReasonCode = "no_agent_matches" | "no_agent_online" | "agents_paused" | "agents_busy" | "waiting_for_fair_share";

/** A PENDING job's place in the queue and why it waits. */
export interface QueueInfo {
  /** How many PENDING jobs the scheduler considers before this one, plus one (1 = next). */
  position: number;
  reason: QueueReasonCode;
  message: string;
}

/** One attempt of a job as the job object shows it. */
export interface AttemptView {
  id: string;
  number: number;
  agent_id: string;
  state: AttemptState;
  assigned_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  error: { code: string; message: string } | null;
}

/** The job object every endpoint returns. */
export interface JobView {
  id: string;
  name: string | null;
  state: JobState;
  command: JobSpec["command"];
  env: JobSpec["env"];
  inputs: JobSpec["inputs"];
  requirements: JobSpec["requirements"];
  timeout_seconds: number;
  max_attempts: number;
  priority: number;
  owner: string;
  created_at: string;
  updated_at: string;
  cancel_requested: boolean;
  attempts: AttemptView[];
  outputs: { key: string; path: string; size: number; sha256: string }[];
  history: { state: string; at: string; cause: string; attempt_id: string | null }[];
  /** Set while the job is PENDING, null otherwise. */
  queue: QueueInfo | null;
}

/** A page of a list endpoint. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** The error body every failing call answers with. */
export interface ErrorAnswer {
  error: { code: string; message: string; details?: Record<string, unknown>; request_id?: string };
}

/** GET /v1/me. */
export interface Me {
  owner: string;
  role: "admin" | "user";
  token_id: string | null;
}

/** One GPU of an agent, with its live reading (null fields when none came). */
export interface AgentGpu {
  index: number;
  name: string;
  uuid: string | null;
  memory_mb: number;
  memory_used_mb: number | null;
  utilization_percent: number | null;
  temperature_c: number | null;
  other_processes: { count: number; memory_mb: number | null } | null;
}

/** An agent as GET /v1/agents lists it. */
export interface AgentView {
  id: string;
  name: string;
  status: "ONLINE" | "OFFLINE";
  paused: boolean;
  pause_reason: string | null;
  /** Present once the API reports where a pause came from. */
  pause?: AgentPause | null;
  labels: Record<string, string>;
  os: string | null;
  slots?: number;
  gpus: AgentGpu[];
  running: string[];
  last_seen_at: string | null;
  connected_since: string | null;
  cpu_percent?: number | null;
  memory_mb?: number | null;
  memory_used_mb?: number | null;
}

/** One output with its presigned download URL (GET /v1/jobs/{id}/outputs). */
export interface OutputLink {
  path: string;
  key: string;
  size: number;
  sha256: string;
  url: string;
  expires_at: string;
}

/** One attempt's full log in the store (GET /v1/jobs/{id}/logs). */
export interface LogLink {
  attempt_id: string;
  stream: "stdout" | "stderr";
  key: string;
  size: number;
  url: string;
  expires_at: string;
}

/** An API token as listed (never its secret). */
export interface ApiToken {
  id: string;
  owner: string;
  role: "admin" | "user";
  name: string | null;
  created_at?: string;
  expires_at: string | null;
  revoked_at?: string | null;
}

/** POST /v1/api-tokens: the secret is shown this once. */
export interface MintedToken {
  id?: string;
  token: string;
  owner: string;
  role: string;
  name?: string | null;
  expires_at?: string | null;
}

/** POST /v1/enrollment-tokens: a one-use token for enrolling an agent. */
export interface EnrollmentToken {
  token: string;
  expires_at: string;
}

/** One row of GET /v1/audit. */
export interface AuditRow {
  at: string;
  actor: string;
  role: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  result: string;
  request_id: string | null;
  details: Record<string, unknown> | null;
}

/** One event of GET /v1/jobs/{id}/events. */
export type JobEvent =
  | { event: "job"; data: JobView | null }
  | { event: "state"; data: { job_id: string; attempt_id: string | null; from?: JobState; to: JobState; cause?: string; at: string } }
  | { event: "progress"; data: { job_id: string; attempt_id: string | null; message: string; at: string } }
  | { event: "log"; data: { job_id?: string; attempt_id?: string | null; stream: "stdout" | "stderr"; line: string; at?: string } };

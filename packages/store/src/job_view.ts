// Turns job, attempt, output and history rows into the job object of API.md.
import type { AttemptState, JobSpec, JobState, JobView } from "@labbridge/protocol";

// The job object is an HTTP view: declared once in protocol (api_views.ts), for the store
// that builds it and for every client that reads it; re-exported so the services keep one import.
export type { JobView, QueueInfo, QueueReasonCode } from "@labbridge/protocol";

/** A row of `jobs`. */
export interface JobRow {
  id: string;
  owner: string;
  name: string | null;
  state: JobState;
  spec: string;
  timeout_seconds: number;
  max_attempts: number;
  attempts_started: number;
  current_attempt_id: string | null;
  cancel_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A row of `attempts`. */
export interface AttemptRow {
  id: string;
  job_id: string;
  number: number;
  agent_id: string;
  state: AttemptState;
  assigned_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  exit_code: number | null;
  error_code: string | null;
  error_message: string | null;
}

/** A row of `job_outputs`. */
export interface OutputRow {
  attempt_id: string;
  path: string;
  job_id: string;
  object_key: string;
  size: number;
  sha256: string;
}

/**
 * The part of a job's spec stored as JSON in `jobs.spec` (the rest has columns). `priority`
 * is absent from jobs stored before it existed: read it as 0.
 */
export type StoredSpec = Pick<JobSpec, "command" | "env" | "inputs" | "requirements"> & { priority?: number };

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Parses the spec column. */
export function parseSpec(row: JobRow): StoredSpec {
  return JSON.parse(row.spec) as StoredSpec;
}

/** Builds the API view of a job from its rows. */
export function toJobView(
  row: JobRow,
  attempts: AttemptRow[],
  outputs: OutputRow[],
  history: { state: string; cause: string; at: Date; attempt_id: string | null }[],
): JobView {
  const spec = parseSpec(row);
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    command: spec.command,
    env: spec.env,
    inputs: spec.inputs,
    requirements: spec.requirements,
    timeout_seconds: row.timeout_seconds,
    max_attempts: row.max_attempts,
    priority: spec.priority ?? 0,
    owner: row.owner,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    cancel_requested: row.cancel_requested_at !== null,
    attempts: attempts.map((a) => ({
      id: a.id,
      number: a.number,
      agent_id: a.agent_id,
      state: a.state,
      assigned_at: a.assigned_at.toISOString(),
      started_at: iso(a.started_at),
      finished_at: iso(a.finished_at),
      exit_code: a.exit_code,
      error: a.error_code ? { code: a.error_code, message: a.error_message ?? "" } : null,
    })),
    outputs: outputs.map((o) => ({ key: o.object_key, path: o.path, size: Number(o.size), sha256: o.sha256 })),
    history: history.map((h) => ({ state: h.state, at: h.at.toISOString(), cause: h.cause, attempt_id: h.attempt_id })),
    queue: null,
  };
}

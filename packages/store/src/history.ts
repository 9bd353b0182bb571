// The job state history: one row per change, with its cause. Every transition function
// writes through here inside its own transaction and returns what changed, so the caller
// can log it once and publish it on the job-events stream after the commit.
import type { JobState, TransitionCause } from "@labbridge/protocol";
import type { Conn } from "./db.ts";

/** A state change that was committed. */
export interface Transition {
  job_id: string;
  attempt_id: string | null;
  agent_id: string | null;
  from: JobState;
  to: JobState;
  cause: TransitionCause;
  at: Date;
}

/** Records a job state change inside the caller's transaction. */
export async function recordTransition(conn: Conn, t: Transition): Promise<Transition> {
  await conn.execute(
    "INSERT INTO job_state_history (job_id, attempt_id, state, cause, at) VALUES (?, ?, ?, ?, ?)",
    [t.job_id, t.attempt_id, t.to, t.cause, t.at],
  );
  return t;
}

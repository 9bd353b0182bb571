// The job and attempt state machines (DESIGN.md "Job and attempt lifecycle").
// Every transition in the store is conditional on one of these `from` states.

/** States of a job, as the API shows them. */
export const JOB_STATES = ["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"] as const;
/** A job state. */
export type JobState = (typeof JOB_STATES)[number];

/** States of one attempt; EXPIRED is an assignment that was never started and was handed back. */
export const ATTEMPT_STATES = ["ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "EXPIRED"] as const;
/** An attempt state. */
export type AttemptState = (typeof ATTEMPT_STATES)[number];

/** Job states after which nothing changes. */
export const TERMINAL_JOB_STATES: readonly JobState[] = ["SUCCEEDED", "FAILED", "CANCELED"];

/** True when a job in `state` is finished for good. */
export function isTerminalJobState(state: JobState): boolean {
  return TERMINAL_JOB_STATES.includes(state);
}

/** Agent connection status, as the API shows it. */
export type AgentStatus = "ONLINE" | "OFFLINE";

/** Why a job or attempt changed state; recorded in the job's history. */
export const TRANSITION_CAUSES = [
  "submitted",
  "assigned",
  "started",
  "succeeded",
  "exit_nonzero",
  "spawn_failed",
  "input_download_failed",
  "output_upload_failed",
  "timeout",
  "lease_expired",
  "lease_expired_before_start",
  "agent_restarted",
  "agent_stopped",
  "rejected",
  "cancel_requested",
  "canceled",
  "requeued",
] as const;
/** A recorded cause of a state change. */
export type TransitionCause = (typeof TRANSITION_CAUSES)[number];

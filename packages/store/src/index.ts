// MySQL, the system of record: schema migrations, jobs, attempts and their transitions
// (each one fenced transaction), agents, tokens, uploads and the audit trail.
export * from "./active_attempts.ts";
export * from "./agents_repo.ts";
export * from "./api_tokens_repo.ts";
export * from "./assign_job.ts";
export * from "./audit_repo.ts";
export * from "./cancel_job.ts";
export * from "./commit_assignments.ts";
export * from "./db.ts";
export * from "./expire_attempt.ts";
export * from "./finish_attempt.ts";
export * from "./free_capacity.ts";
export * from "./history.ts";
export * from "./job_fit.ts";
export * from "./job_view.ts";
export * from "./job_outputs_page.ts";
export * from "./jobs_repo.ts";
export * from "./migrate.ts";
export * from "./patch_agent.ts";
export * from "./pending_queue.ts";
export * from "./plan_matches.ts";
export * from "./queue_reason.ts";
export * from "./queue_status.ts";
export * from "./record_outputs.ts";
export * from "./secrets.ts";
export * from "./start_attempt.ts";
export * from "./uploads_repo.ts";

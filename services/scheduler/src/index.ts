// Programmatic entry for tests and the harness.
export * from "./start_scheduler.ts";
export * from "./dispatch.ts";
export * from "./handle_agent_event.ts";
export * from "./matcher.ts";
export * from "./match_pending.ts";
export * from "./handle_presence_entries.ts";

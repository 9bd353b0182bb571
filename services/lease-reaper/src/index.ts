// Programmatic entry for tests and the harness.
export * from "./start_reaper.ts";
export * from "./reap_expired_leases.ts";
export * from "./mark_silent_agents.ts";
export * from "./restore_lost_leases.ts";
export * from "./enforce_timeouts.ts";

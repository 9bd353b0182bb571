// Programmatic entry for tests and the harness.
export * from "./start_api.ts";
export type { ApiContext } from "./api_context.ts";
export * from "./job_events_hub.ts";
export { ROUTES } from "./api_server.ts";

// The protocol package: the single source of truth for states, errors, ids, paths, job
// specs, WebSocket messages, stream entries and the HTTP API views. Imported by the services
// (Node), the dashboard and `lb`, and by the agent (Deno, by relative path), so it uses
// nothing but the web platform.
export * from "./agent_pause.ts";
export * from "./api_views.ts";
export * from "./check.ts";
export * from "./errors.ts";
export * from "./ids.ts";
export * from "./job_spec.ts";
export * from "./outputs_digest.ts";
export * from "./paths.ts";
export * from "./states.ts";
export * from "./stream_entries.ts";
export * from "./ws_messages.ts";
export * from "./uploads.ts";
export * from "./retry_hint.ts";

// The protocol package: the single source of truth for states, errors, ids, paths, job
// specs, WebSocket messages and stream entries. Imported by the services (Node) and by
// the agent (Deno, by relative path), so it uses nothing but the web platform.
export * from "./check.ts";
export * from "./errors.ts";
export * from "./ids.ts";
export * from "./job_spec.ts";
export * from "./outputs_digest.ts";
export * from "./paths.ts";
export * from "./states.ts";
export * from "./stream_entries.ts";
export * from "./ws_messages.ts";
export * from "./retry_hint.ts";

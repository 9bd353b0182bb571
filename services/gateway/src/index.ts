// Programmatic entry for tests and the harness.
export * from "./start_gateway.ts";
export type { GatewayContext } from "./gateway_context.ts";

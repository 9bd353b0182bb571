// Process plumbing shared by the services: injected clocks, jittered timers, and the
// supervisor that starts and stops a service's loops.
export * from "./clock.ts";
export * from "./supervisor.ts";
export * from "./context.ts";
export * from "./publish_transition.ts";
export * from "./queue_metrics.ts";
export * from "./metrics_endpoint.ts";
export * from "./readiness.ts";
export * from "./transient_error.ts";
export * from "./tell_agent.ts";

// The development stack: starting the whole bridge as real processes on one machine, in an
// isolated prefix and database. Product code for `npm run dev` and `npm run demo`, shared
// with the end-to-end and fault suites and the benchmark.
export * from "./bridge.ts";
export * from "./child_process.ts";
export * from "./deno_agent.ts";
export * from "./free_port.ts";
export * from "./isolated_env.ts";
export * from "./proc_tree.ts";

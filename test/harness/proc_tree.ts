// Tests keep this import path; the code is product code in packages/devstack/src/proc_tree.ts,
// shared with npm run dev, npm run demo and the benchmark.
export * from "@labbridge/devstack";

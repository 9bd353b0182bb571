// Tests keep this import path; the code is in packages/devstack/src/free_port.ts, shared with the load tests.
export { freePort } from "@labbridge/devstack";

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobEventsHub } from "@labbridge/api";
import { createLogger } from "@labbridge/logging";
import type { StreamEntry } from "@labbridge/protocol";
import { createContext, type ServiceContext } from "@labbridge/runtime";
import { appendEntry } from "@labbridge/streams";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

// The API's fan-out of job-events to live watchers, on a real Redis: a watcher that
// subscribed (and then read its snapshot) must see every later state change.

let env: TestEnv;
let ctx: ServiceContext;
let hub: JobEventsHub;

beforeEach(async () => {
  env = await createTestEnv();
  ctx = createContext("hub-test", env.config, { log: createLogger("hub-test", "silent") });
  hub = new JobEventsHub(ctx);
});

afterEach(async () => {
  await hub.close();
  await ctx.close();
  await env.cleanup();
});

const stateChange = (jobId: string, to: string) =>
  appendEntry(ctx.redis, ctx.streams.jobEvents, { type: "job.state_changed", job_id: jobId, data: { from: "x", to, cause: "test" } });

describe("JobEventsHub", () => {
  it("the first watcher gets every event written once subscribe has resolved, even while the reader is starting", async () => {
    await stateChange("job_old", "PENDING"); // history before the watcher: not delivered
    const seen: string[] = [];
    const unsubscribe = await hub.subscribe("job_1", (e: StreamEntry) => void seen.push(String(e.data.to)));
    // Written at once, before the reader's first blocking read has necessarily begun.
    for (const to of ["ASSIGNED", "RUNNING", "SUCCEEDED"]) await stateChange("job_1", to);
    await stateChange("job_2", "RUNNING");
    await waitFor(() => seen.length === 3, 5000, "three events");
    expect(seen).toEqual(["ASSIGNED", "RUNNING", "SUCCEEDED"]);
    unsubscribe();
  });

  it("stops delivering to a watcher that unsubscribed", async () => {
    const seen: string[] = [];
    const unsubscribe = await hub.subscribe("job_1", (e: StreamEntry) => void seen.push(String(e.data.to)));
    await stateChange("job_1", "ASSIGNED");
    await waitFor(() => seen.length === 1, 5000, "first event");
    unsubscribe();
    await stateChange("job_1", "RUNNING");
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(["ASSIGNED"]);
  });
});

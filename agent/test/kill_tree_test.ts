// (c) cancel kills the whole process tree, (d) timeout, (f) abort lease_lost. Trees are
// checked through real pids: every process carrying the attempt's LB_ATTEMPT_ID, including
// one that escaped the process group with setsid.
import { assert, assertEquals } from "./helpers/assert.ts";
import { exists, makeAssign, startAgent } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore } from "./helpers/fake_store.ts";
import { pidsOfAttempt } from "./helpers/procs.ts";
import { pause, until } from "./helpers/wait.ts";

const TREE = "sleep 300 & setsid sleep 301 & echo started; sleep 302";

async function waitForTree(attemptId: string, count: number): Promise<number[]> {
  return await until(async () => {
    const pids = await pidsOfAttempt(attemptId);
    return pids.length >= count ? pids : undefined;
  }, `${count} processes of ${attemptId}`);
}

Deno.test("cancel kills the whole tree (children, grandchildren, an escaped setsid) and reports canceled", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  try {
    const assign = makeAssign(["sh", "-c", TREE]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const pids = await waitForTree(assign.attempt_id, 4); // sh + 3 sleeps
    gw.send({ type: "attempt.cancel", attempt_id: assign.attempt_id, reason: "canceled" });
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "canceled");
    assertEquals(f.error?.code, "canceled");
    assertEquals(await pidsOfAttempt(assign.attempt_id), [], `survivors of ${pids.join(",")}`);
    // Logs were still uploaded for a canceled attempt.
    assert(store.puts.has(`jobs/${assign.job_id}/${assign.attempt_id}/logs/stdout.log`));
    assertEquals(new TextDecoder().decode(store.puts.get(`jobs/${assign.job_id}/${assign.attempt_id}/logs/stdout.log`)!.bytes), "started\n");
    assertEquals(gw.invalid, []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
});

Deno.test("timeout kills the tree and reports failed with code timeout", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  try {
    const assign = makeAssign(["sh", "-c", TREE], { timeout_seconds: 1 });
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    const t0 = Date.now();
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "failed");
    assertEquals(f.error?.code, "timeout");
    assert(Date.now() - t0 < 8_000, "timed out promptly");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
});

Deno.test("a job that ignores SIGTERM is killed after the grace period", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  try {
    const assign = makeAssign(["sh", "-c", "trap '' TERM; echo ready; sleep 300 & wait; sleep 300"]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    await waitForTree(assign.attempt_id, 2);
    gw.send({ type: "attempt.cancel", attempt_id: assign.attempt_id, reason: "canceled" });
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "canceled");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
});

Deno.test("abort lease_lost kills the tree, reports nothing and cleans up", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  try {
    const assign = makeAssign(["sh", "-c", TREE]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    await waitForTree(assign.attempt_id, 4);
    const mark = gw.mark();
    gw.send({ type: "attempt.abort", attempt_id: assign.attempt_id, reason: "lease_lost" });
    await agent.waitLog("attempt dropped");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
    await until(async () => !(await exists(`${agent.stateDir}/work/${assign.attempt_id}`)), "work folder removed");
    await pause(400);
    assertEquals(gw.framesOf("attempt.finished"), []);
    assertEquals(gw.framesOf("presign.request"), []);
    // The attempt is no longer held.
    await gw.waitSince(mark, "heartbeat", (h) => !h.running.includes(assign.attempt_id));
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
});

Deno.test("leftover background processes are ended when the job's main process exits", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  try {
    const assign = makeAssign(["sh", "-c", "sleep 300 & echo done"]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "succeeded");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
});

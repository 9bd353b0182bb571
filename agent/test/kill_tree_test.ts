// (c) cancel kills the whole process tree, (d) timeout, (f) abort lease_lost. Trees are
// checked through real pids: each job writes the pids of its processes to a file, the test
// sees every one alive in /proc first, then proves none survives; and no process carrying
// the attempt's LB_ATTEMPT_ID is left, including one that escaped the group with setsid.
import { assert, assertEquals } from "./helpers/assert.ts";
import { exists, makeAssign, startAgent } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore } from "./helpers/fake_store.ts";
import { pidFolder, pidsOfAttempt, pidsWrittenBy, survivors } from "./helpers/procs.ts";
import { until } from "./helpers/wait.ts";

/** sh, a background child, one that leaves the session (setsid), and a last one it waits on; each pid written to `<dir>/pids`. */
const tree = (dir: string) =>
  `echo $$ >> ${dir}/pids; sleep 300 & echo $! >> ${dir}/pids; setsid sleep 301 & echo $! >> ${dir}/pids; ` +
  `echo started; sleep 302 & echo $! >> ${dir}/pids; wait`;
const TREE_SIZE = 4;

Deno.test("cancel kills the whole tree (children, grandchildren, an escaped setsid) and reports canceled", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  const dir = await pidFolder();
  try {
    const assign = makeAssign(["sh", "-c", tree(dir)]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const procs = await pidsWrittenBy(`${dir}/pids`, TREE_SIZE);
    gw.send({ type: "attempt.cancel", attempt_id: assign.attempt_id, reason: "canceled" });
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "canceled");
    assertEquals(f.error?.code, "canceled");
    assertEquals(await survivors(procs), [], "survivors of the tree seen alive");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
    // Logs were still uploaded for a canceled attempt.
    assert(store.puts.has(`jobs/${assign.job_id}/${assign.attempt_id}/logs/stdout.log`));
    assertEquals(new TextDecoder().decode(store.puts.get(`jobs/${assign.job_id}/${assign.attempt_id}/logs/stdout.log`)!.bytes), "started\n");
    assertEquals(gw.invalid, []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("timeout kills the tree and reports failed with code timeout", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  const dir = await pidFolder();
  try {
    const assign = makeAssign(["sh", "-c", tree(dir)], { timeout_seconds: 2 });
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    const t0 = Date.now();
    gw.send(assign);
    const procs = await pidsWrittenBy(`${dir}/pids`, TREE_SIZE);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "failed");
    assertEquals(f.error?.code, "timeout");
    assert(Date.now() - t0 < 9_000, "timed out promptly");
    assertEquals(await survivors(procs), [], "survivors of the tree seen alive");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a job that ignores SIGTERM gets SIGTERM first and is killed only after the grace period", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const graceMs = 1_500;
  const agent = await startAgent(gw, { killGraceMs: graceMs });
  const dir = await pidFolder();
  try {
    // The trap notes when SIGTERM came (ms since the epoch) and keeps the shell alive.
    const assign = makeAssign(["sh", "-c", `trap 'date +%s%3N >> ${dir}/term' TERM; echo $$ >> ${dir}/pids; sleep 300 & wait; sleep 300`]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const procs = await pidsWrittenBy(`${dir}/pids`, 1);
    gw.send({ type: "attempt.cancel", attempt_id: assign.attempt_id, reason: "canceled" });
    const termAt = await until(async () => {
      const text = await Deno.readTextFile(`${dir}/term`).catch(() => "");
      return text.trim() ? Number(text.trim().split("\n")[0]) : undefined;
    }, "SIGTERM noted by the job");
    // The polite signal came first, and the shell outlived it.
    assertEquals(await survivors(procs), procs.map((p) => p.pid), "alive after SIGTERM");
    const goneAt = await until(async () => (await survivors(procs)).length === 0 && Date.now(), "the shell killed");
    assert(goneAt - termAt >= graceMs - 100, `killed ${goneAt - termAt} ms after SIGTERM, before the ${graceMs} ms grace`);
    assert(goneAt - termAt < graceMs + 3_000, `killed ${goneAt - termAt} ms after SIGTERM, long after the ${graceMs} ms grace`);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "canceled");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("abort lease_lost kills the tree, reports nothing and cleans up", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  const dir = await pidFolder();
  try {
    const assign = makeAssign(["sh", "-c", tree(dir)]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const procs = await pidsWrittenBy(`${dir}/pids`, TREE_SIZE);
    const mark = gw.mark();
    gw.send({ type: "attempt.abort", attempt_id: assign.attempt_id, reason: "lease_lost" });
    await agent.waitLog("attempt dropped");
    assertEquals(await survivors(procs), [], "survivors of the tree seen alive");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
    await until(async () => !(await exists(`${agent.workRoot}/${assign.attempt_id}`)), "work folder removed");
    // The attempt is no longer held. The agent lets go of it only once its run is over, so a
    // report or an upload of it would have been sent before this heartbeat.
    await gw.waitSince(mark, "heartbeat", (h) => !h.running.includes(assign.attempt_id));
    assertEquals(gw.framesOf("attempt.finished"), []);
    assertEquals(gw.framesOf("presign.request"), []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("leftover background processes are ended when the job's main process exits", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw);
  const dir = await pidFolder();
  try {
    // The main process waits for the test's go, so the background one is seen alive first.
    const assign = makeAssign(["sh", "-c", `sleep 300 & echo $! >> ${dir}/pids; while [ ! -e ${dir}/go ]; do sleep 0.05; done; echo done`]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const procs = await pidsWrittenBy(`${dir}/pids`, 1);
    await Deno.writeTextFile(`${dir}/go`, "");
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "succeeded");
    assertEquals(await survivors(procs), [], "the background process seen alive");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

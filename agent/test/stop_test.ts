// A stopping agent settles what it holds before it goes: job trees killed, each attempt
// reported (failed/agent_stopped, or canceled when a cancel was under way; an attempt still
// waiting for its grant is released the same way) through the outbox and acknowledged, and
// only then the socket closed with 1000, all within timings.shutdownMs; with no gateway to
// report to, it still exits at that timeout.
import { assert, assertEquals } from "./helpers/assert.ts";
import { maxStopMs } from "../src/agent.ts";
import { writeIdentity } from "../src/runtime/agent_state.ts";
import { currentOs } from "../src/os/current.ts";
import { exists, makeAssign, startAgent } from "./helpers/agent_harness.ts";
import { collectLines, spawnCli } from "./helpers/cli.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore } from "./helpers/fake_store.ts";
import { pidsOfAttempt } from "./helpers/procs.ts";
import { DEFAULT_TIMINGS } from "../src/runtime/timings.ts";
import { until } from "./helpers/wait.ts";

Deno.test("on SIGTERM the agent reports its running attempt failed with agent_stopped and closes with 1000 only after the ack", async () => {
  const gw = new FakeGateway();
  gw.ackReports = null; // the test acks by hand, once it has seen the agent wait
  const dir = await Deno.makeTempDir({ prefix: "lb-agent-stop-" });
  await writeIdentity(dir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  const child = spawnCli(["run", "--state-dir", dir]);
  const out = collectLines(child.stdout);
  const err = collectLines(child.stderr);
  try {
    await gw.waitFor("hello", () => true, 30_000);
    const assign = makeAssign(["sh", "-c", "sleep 300 & sleep 301"]);
    gw.send(assign);
    await until(async () => (await pidsOfAttempt(assign.attempt_id)).length >= 3 || undefined, "job tree running");
    child.kill("SIGTERM");

    const finished = await gw.waitFor("attempt.finished", (f) => f.attempt_id === assign.attempt_id, 10_000);
    assertEquals(finished.outcome, "failed");
    assertEquals(finished.error?.code, "agent_stopped");
    assertEquals(finished.exit_code, null, "killed by a signal, so no exit code");
    assertEquals(await pidsOfAttempt(assign.attempt_id), [], "job tree ended before the report");

    // Without its ack the agent keeps the session: heartbeats go on and still list the attempt.
    const mark = gw.mark();
    await gw.waitSince(mark, "heartbeat", (h) => h.running.includes(assign.attempt_id), 5_000);
    await gw.waitSince(mark, "heartbeat", (h) => h.running.includes(assign.attempt_id), 5_000);
    assertEquals(gw.conns[0]!.closeCode, null, "socket still open while the report waits for its ack");
    assert(gw.conns[0]!.open);

    gw.send({ type: "attempt.report_ack", attempt_id: assign.attempt_id, accepted: true });
    const status = await child.status;
    await out.done;
    await err.done;
    assertEquals(status.code, 0, err.lines.join("\n"));
    await until(() => gw.conns[0]!.closeCode !== null || undefined, "close seen by gateway");
    assertEquals(gw.conns[0]!.closeCode, 1000);
    assertEquals(gw.framesOf("attempt.finished").length, 1, "one report, one session");
    const logs = out.lines.map((l) => JSON.parse(l));
    assert(logs.some((l) => l.msg === "attempt reported" && l.attempt_id === assign.attempt_id));
    assert(!(await exists(`${dir}-work/${assign.attempt_id}`)), "folder of the reported attempt removed");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stop while a cancel is under way reports the attempt canceled", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  // Long enough that the stop surely lands while the cancel's kill is still waiting.
  const agent = await startAgent(gw, { killGraceMs: 1_500 });
  try {
    await gw.waitFor("hello");
    // The job ignores SIGTERM, so the cancel's kill waits out its grace before SIGKILL.
    const assign = makeAssign(["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]);
    gw.presign = store.presignFor(assign.job_id); // a canceled job's logs still go up
    gw.send(assign);
    await agent.waitLog("process started");
    gw.send({ type: "attempt.cancel", attempt_id: assign.attempt_id, reason: "canceled" });
    await agent.waitLog("killing process tree", (l) => l.reason === "cancel");
    assert((await pidsOfAttempt(assign.attempt_id)).length > 0, "job still alive when the stop comes");
    const end = await agent.stop();
    assertEquals(end.kind, "stopped");
    const finished = gw.framesOf("attempt.finished").filter((f) => f.attempt_id === assign.attempt_id);
    assertEquals(finished.length, 1);
    assertEquals(finished[0]!.outcome, "canceled");
    assertEquals(finished[0]!.error?.code, "canceled");
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
});

Deno.test("an attempt still waiting for its start grant is released on stop: reported agent_stopped, nothing run", async () => {
  const gw = new FakeGateway();
  gw.autoGrant = false;
  const agent = await startAgent(gw);
  try {
    await gw.waitFor("hello");
    const assign = makeAssign(["sh", "-c", 'touch "$LB_OUTPUT_DIR/ran"; sleep 30']);
    gw.send(assign);
    await gw.waitFor("attempt.start_request", (r) => r.attempt_id === assign.attempt_id);
    const end = await agent.stop();
    assertEquals(end.kind, "stopped");
    const finished = gw.framesOf("attempt.finished");
    assertEquals(finished.length, 1);
    assertEquals(finished[0]!.attempt_id, assign.attempt_id);
    assertEquals(finished[0]!.outcome, "failed");
    assertEquals(finished[0]!.error, { code: "agent_stopped", message: "agent stopped before the job started" });
    assert(agent.logs.some((l) => l.msg === "attempt released before start"));
    assert(!agent.logs.some((l) => l.msg === "process started"), "nothing ran");
    assert(!(await exists(`${agent.workRoot}/${assign.attempt_id}`)), "work folder removed");
  } finally {
    await agent.dispose();
    await gw.close();
  }
});

Deno.test("an assignment that arrives while the agent is stopping is released at once and never run", async () => {
  const gw = new FakeGateway();
  gw.ackReports = null; // holds the stop open: the running attempt's report waits for its ack
  const agent = await startAgent(gw);
  try {
    await gw.waitFor("hello");
    const first = makeAssign(["sh", "-c", "sleep 300"]);
    gw.send(first);
    await agent.waitLog("process started");
    const stopping = agent.stop();
    await gw.waitFor("attempt.finished", (f) => f.attempt_id === first.attempt_id);
    const late = makeAssign(["sh", "-c", 'touch "$LB_OUTPUT_DIR/ran"; sleep 30']);
    gw.send(late);
    const released = await gw.waitFor("attempt.finished", (f) => f.attempt_id === late.attempt_id);
    assertEquals(released.outcome, "failed");
    assertEquals(released.error, { code: "agent_stopped", message: "agent stopped before the job started" });
    assertEquals(gw.framesOf("attempt.start_request").filter((r) => r.attempt_id === late.attempt_id), [], "never asked to start");
    assertEquals(await pidsOfAttempt(late.attempt_id), []);
    gw.send({ type: "attempt.report_ack", attempt_id: first.attempt_id, accepted: true });
    assertEquals((await stopping).kind, "stopped");
  } finally {
    await agent.dispose();
    await gw.close();
  }
});

Deno.test("with no gateway to report to, a stopping agent ends its job and exits at the stop timeout", async () => {
  const gw = new FakeGateway();
  const shutdownMs = 1_500;
  const agent = await startAgent(gw, { shutdownMs });
  try {
    await gw.waitFor("hello");
    const assign = makeAssign(["sh", "-c", "sleep 300 & sleep 301"]);
    gw.send(assign);
    await until(async () => (await pidsOfAttempt(assign.attempt_id)).length >= 3 || undefined, "job tree running");
    // Every gateway gone: new connections are refused, the session is closed.
    gw.refuse = 1_000_000;
    gw.drop(1011, "gateway gone");
    await agent.waitLog("disconnected from gateway");

    const stoppedAt = Date.now();
    const end = await agent.stop();
    const took = Date.now() - stoppedAt;
    assertEquals(end.kind, "stopped");
    assertEquals(await pidsOfAttempt(assign.attempt_id), [], "job tree ended anyway");
    // It waited for a gateway as long as it was allowed to, and not much longer.
    assert(took >= shutdownMs, `stopped after ${took} ms, before the stop timeout: it did not wait to report`);
    assert(took < shutdownMs + 3_000, `stopped after ${took} ms, long past the ${shutdownMs} ms stop timeout`);
    assert(agent.logs.some((l) => l.msg === "some attempts did not report in time; leaving them to their leases"));
    assertEquals(gw.framesOf("attempt.finished"), []);
    assert(await exists(`${agent.workRoot}/${assign.attempt_id}`), "folder of the unreported attempt kept for the next start");
  } finally {
    await agent.dispose();
    await gw.close();
  }
});

Deno.test("WinSW's stop timeout is longer than the longest stop of the agent", async () => {
  const xml = await Deno.readTextFile(new URL("../winsw/labbridge-agent.xml", import.meta.url));
  const m = /<stoptimeout>\s*(\d+)\s*sec\s*<\/stoptimeout>/.exec(xml);
  assert(m, "labbridge-agent.xml has a <stoptimeout> in seconds");
  const stopTimeoutMs = Number(m[1]) * 1000;
  // A few seconds of slack for the process to start exiting and WinSW to notice.
  assert(stopTimeoutMs >= maxStopMs(DEFAULT_TIMINGS) + 5_000, `stoptimeout ${stopTimeoutMs} ms leaves no room after a ${maxStopMs(DEFAULT_TIMINGS)} ms stop`);
});

Deno.test("the stop window leaves room for a job's kill grace and its report", () => {
  // A job that ignores SIGTERM is SIGKILLed after killGraceMs; its report must still fit in the window.
  assert(DEFAULT_TIMINGS.shutdownMs >= DEFAULT_TIMINGS.killGraceMs + 5_000, "shutdownMs must exceed killGraceMs by seconds");
});

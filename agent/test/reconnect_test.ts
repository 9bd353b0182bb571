// (e) A dropped connection never kills a running job; the report waits in the outbox and
// goes out after reconnect + welcome. Also: presign re-asked after a drop, heartbeats at
// the server's interval, refused credentials end the agent without hammering.
import { CLOSE_CODES } from "../../packages/protocol/src/index.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { makeAssign, startAgent, withAgent } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { pidsOfAttempt } from "./helpers/procs.ts";
import { until } from "./helpers/wait.ts";

/**
 * Waits for `n` heartbeats from now on (matching `pred`): a negative check counts the
 * agent's own beats, which a slow machine slows down alike, instead of wall-clock time.
 */
async function heartbeatsFromNow(gw: FakeGateway, n: number, pred: (h: { running: string[] }) => boolean = () => true): Promise<void> {
  for (let i = 0; i < n; i++) await gw.waitSince(gw.mark(), "heartbeat", pred);
}

Deno.test("a drop during a run keeps the job alive; finished is delivered after reconnect", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(["sh", "-c", 'echo begin; sleep 1.5; echo survived > "$LB_OUTPUT_DIR/proof.txt"']);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    await until(async () => (await pidsOfAttempt(assign.attempt_id)).length > 0 || undefined, "job running");

    gw.refuse = 3; // the gateway stays unreachable for a few tries
    gw.drop(1011, "network blip");
    await until(() => !gw.conns[0]!.open || undefined, "drop seen");
    assert((await pidsOfAttempt(assign.attempt_id)).length > 0, "job still running after the drop");

    const hello2 = await gw.waitFor("hello", () => true, 15_000, 1);
    assertEquals(hello2.restarted, false, "second hello of the same process");
    assert(hello2.running.includes(assign.attempt_id), "reconnect hello lists the running attempt");

    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "succeeded");
    assertEquals(f.outputs.map((o) => o.path), ["proof.txt"]);
    assertEquals(new TextDecoder().decode(store.puts.get(f.outputs[0]!.key)!.bytes), "survived\n");
    const finishedConn = gw.frames.find((r) => r.msg.type === "attempt.finished")!.conn;
    assert(finishedConn > 0, "report went out on the new connection");
    assertEquals(gw.invalid, []);
  });
});

Deno.test("a report is sent again on each new connection until the gateway acknowledges it", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    gw.ackReports = null; // the first gateway connection never answers the report
    const assign = makeAssign(["sh", "-c", "echo hi"]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    await gw.waitFor("attempt.finished");
    // Three beats while the report waits (it is still listed as running): a re-send on a live session would be in by then.
    await heartbeatsFromNow(gw, 3, (h) => h.running.includes(assign.attempt_id));
    assertEquals(gw.framesOf("attempt.finished").length, 1, "no re-send on a live session");
    assert(!agent.logs.some((l) => l.msg === "attempt reported"), "not counted as delivered without an ack");
    gw.ackReports = true;
    gw.drop(1011, "lost before the ack");
    await gw.waitFor("attempt.finished", () => true, 15_000, 1);
    await agent.waitLog("attempt reported");
    const conns = gw.frames.filter((r) => r.msg.type === "attempt.finished").map((r) => r.conn);
    assertEquals(conns.length, 2);
    assert(conns[1]! > conns[0]!);
    // Once a heartbeat no longer lists the attempt, its delivery is over: nothing can send it again.
    await heartbeatsFromNow(gw, 1, (h) => !h.running.includes(assign.attempt_id));
    assertEquals(gw.framesOf("attempt.finished").length, 2, "no re-send after the ack");
  });
});

Deno.test("a report the gateway refuses (lease already gone) is not sent again", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    gw.ackReports = false;
    const assign = makeAssign(["sh", "-c", "echo hi"]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    await agent.waitLog("attempt report not accepted: the server had already settled the attempt");
    gw.drop(1011, "reconnect after the refusal");
    await gw.waitFor("hello", () => true, 15_000, 1);
    // A heartbeat on the new session that no longer lists the attempt: its delivery is over.
    await heartbeatsFromNow(gw, 1, (h) => !h.running.includes(assign.attempt_id));
    assertEquals(gw.framesOf("attempt.finished").length, 1);
  });
});

Deno.test("a gateway that goes silent (half-open connection) is left for a new connection within a few heartbeats", async () => {
  await withAgent(async ({ gw, agent }) => {
    await gw.waitFor("hello");
    await gw.waitFor("heartbeat", () => true, 5_000, 2); // acked beats keep the session
    assertEquals(gw.conns.filter((c) => c.path === "/v1/agent").length, 1);
    gw.silent = true;
    const silentAt = Date.now();
    await agent.waitLog("gateway silent, reconnecting", () => true, 5_000);
    gw.silent = false;
    const hello2 = await gw.waitFor("hello", () => true, 5_000, 1);
    const took = Date.now() - silentAt;
    // 0.2 s heartbeats, 3 silent intervals: well under 2 s to notice and reconnect.
    assert(took < 2_000, `reconnected ${took} ms after the gateway went silent`);
    assertEquals(hello2.restarted, false);
  });
});

Deno.test("presign.request lost with the connection is asked again after reconnect", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(["sh", "-c", 'echo out > "$LB_OUTPUT_DIR/o.txt"']);
    await gw.waitFor("hello");
    gw.send(assign);
    const first = await gw.waitFor("presign.request"); // not answered
    gw.presign = store.presignFor(assign.job_id);
    gw.drop(1001, "gateway restarting");
    const second = await gw.waitFor("presign.request", () => true, 15_000, 1);
    assert(second.request_id !== first.request_id);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "succeeded");
    assertEquals(f.outputs.length, 1);
  });
});

Deno.test("start_request is sent again when the grant was lost with the connection", async () => {
  await withAgent(async ({ gw, store }) => {
    gw.autoGrant = false;
    const assign = makeAssign(["sh", "-c", "echo ok"]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    await gw.waitFor("attempt.start_request");
    gw.autoGrant = true;
    gw.drop(1011);
    await gw.waitFor("attempt.start_request", () => true, 15_000, 1);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "succeeded");
  });
});

Deno.test("heartbeats follow the interval from welcome and list held attempts", async () => {
  const gw = new FakeGateway();
  gw.heartbeatSeconds = 0.1;
  const agent = await startAgent(gw);
  try {
    await gw.waitFor("hello");
    const t0 = Date.now();
    await gw.waitFor("heartbeat", () => true, 5_000, 9);
    const elapsed = Date.now() - t0;
    // 10 beats at 0.1 s ±10%: about 1 s.
    assert(elapsed > 800 && elapsed < 2_500, `10 heartbeats took ${elapsed} ms`);
    assertEquals(gw.framesOf("heartbeat")[0]!.running, []);
  } finally {
    await agent.dispose();
    await gw.close();
  }
});

for (const code of [CLOSE_CODES.unauthorized, CLOSE_CODES.revoked]) {
  Deno.test(`close ${code} ends the agent without reconnecting`, async () => {
    const gw = new FakeGateway();
    gw.rejectHelloWith = code;
    const agent = await startAgent(gw);
    try {
      const end = await agent.done;
      assertEquals(end.kind, "rejected");
      assertEquals(end.kind === "rejected" ? end.code : 0, code);
      // The agent's run has returned: its connection loop is over, so no reconnect can follow.
      assertEquals(gw.conns.length, 1, "no reconnect after a refused credential");
    } finally {
      await agent.dispose();
      await gw.close();
    }
  });
}

Deno.test("a credential the gateway no longer knows (close 4401 after hello) ends the agent", async () => {
  const gw = new FakeGateway();
  gw.credential = "lbc_other"; // agent.json gets this one...
  const agent = await startAgent(gw);
  gw.credential = "lbc_rotated"; // ...and the gateway now expects another
  try {
    const end = await agent.done;
    assertEquals(end.kind === "rejected" ? end.code : 0, CLOSE_CODES.unauthorized);
    assertEquals(gw.conns.length, 1);
    assertEquals(gw.conns[0]!.authorization, "Bearer lbc_other");
  } finally {
    await agent.dispose();
    await gw.close();
  }
});

for (const status of [401, 403]) {
  Deno.test(`an upgrade refused with HTTP ${status} ends the agent without reconnecting`, async () => {
    const gw = new FakeGateway();
    gw.refuseUpgradeWith = status;
    const agent = await startAgent(gw);
    try {
      const end = await agent.done;
      assertEquals(end.kind === "rejected" ? end.code : 0, status === 401 ? CLOSE_CODES.unauthorized : CLOSE_CODES.revoked);
      // The agent's run has returned: its connection loop is over, so no reconnect can follow.
      assertEquals(gw.conns.length, 1);
    } finally {
      await agent.dispose();
      await gw.close();
    }
  });
}

Deno.test("an unreachable gateway is retried with backoff until it answers", async () => {
  const gw = new FakeGateway();
  gw.refuse = 5;
  // With random pinned just under 1, each delay is just under its ceiling: base 50 ms
  // doubling per failure, capped at 400 ms (FAST_TIMINGS).
  const expected = [49, 99, 199, 399, 399];
  const agent = await startAgent(gw, {}, { random: () => 0.999 });
  try {
    await gw.waitFor("hello");
    const warnings = agent.logs.filter((l) => l.msg === "cannot reach gateway");
    assertEquals(warnings.map((w) => w.retry_in_ms), expected);
    // The gaps the gateway saw between connection attempts: each at least its delay (a timer
    // is never early), and not much more; so they grow, then stay at the cap.
    const at = gw.connectAttemptsAt;
    assertEquals(at.length, expected.length + 1);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    gaps.forEach((gap, i) => {
      assert(gap >= expected[i]! - 2, `gap ${i + 1} of ${gaps.join(", ")} ms shorter than its ${expected[i]} ms delay`);
      assert(gap < expected[i]! + 250, `gap ${i + 1} of ${gaps.join(", ")} ms far above its ${expected[i]} ms delay`);
    });
    assert(!gw.conns[0]!.url.includes("lbc_"), "no credential in the URL");
  } finally {
    await agent.dispose();
    await gw.close();
  }
});

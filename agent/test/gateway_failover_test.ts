// Several gateways: the agent leaves one that stops, dies or goes half-open for the next in
// its list, and what it held carries over: hello lists held attempts, an unacknowledged
// report is sent again, a start request is asked again (and the job starts once, on a grant).
import { CLOSE_CODES } from "../../packages/protocol/src/index.ts";
import { endpointUrl } from "../src/session/server_url.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { exists, makeAssign, startAgent } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore } from "./helpers/fake_store.ts";
import { pidsOfAttempt } from "./helpers/procs.ts";
import { TcpFront } from "./helpers/tcp_front.ts";
import { pause, until } from "./helpers/wait.ts";

const TREE = "sleep 300 & setsid sleep 301 & echo started; sleep 302";

/** Two gateways of one deployment; `a` sits behind a TcpFront so a test can kill it or cut its path. */
function twoGateways() {
  const a = new FakeGateway();
  const b = new FakeGateway(a);
  const front = new TcpFront(a);
  return {
    a,
    b,
    front,
    async close() {
      await front.crash();
      await a.close();
      await b.close();
    },
  };
}

Deno.test("a gateway closing with 1001 (graceful stop) has the agent on the next gateway within a second", async () => {
  const a = new FakeGateway();
  const b = new FakeGateway(a);
  // random 0.999 starts at the last listed gateway (a) and puts the go-away jitter at its 249 ms maximum.
  const agent = await startAgent(a, {}, { servers: [b.url, a.url], random: () => 0.999 });
  try {
    await a.waitFor("hello");
    assertEquals(b.conns.length, 0);
    const stoppedAt = Date.now();
    a.drop(CLOSE_CODES.going_away, "gateway stopping");
    const hello = await b.waitFor("hello", () => true, 2_000);
    const took = Date.now() - stoppedAt;
    assert(took < 1_000, `on the next gateway ${took} ms after the go-away`);
    assertEquals(hello.restarted, false);
    await agent.waitLog("connected to gateway", (l) => l.url === endpointUrl(b.url, "agent"));
    const left = agent.logs.find((l) => l.msg === "disconnected from gateway")!;
    assertEquals(left.code, CLOSE_CODES.going_away);
    assert((left.retry_in_ms as number) < 250, "go-away waits the short jitter only");
    await pause(300);
    assertEquals(a.framesOf("hello").length, 1, "the stopping gateway is not asked again");
  } finally {
    await agent.dispose();
    await a.close();
    await b.close();
  }
});

Deno.test("a gateway that dies abruptly (connections cut, port closed) is left for the next gateway", async () => {
  const gws = twoGateways();
  const agent = await startAgent(gws.a, {}, { servers: [gws.front.url, gws.b.url], random: () => 0 });
  try {
    await gws.a.waitFor("hello");
    const diedAt = Date.now();
    await gws.front.crash();
    await gws.b.waitFor("hello", () => true, 5_000);
    const took = Date.now() - diedAt;
    assert(took < 2_000, `on the next gateway ${took} ms after the first died`);
    const left = agent.logs.find((l) => l.msg === "disconnected from gateway")!;
    assertEquals(left.code, 1006, "an abnormal close");
    assertEquals(left.next_url, endpointUrl(gws.b.url, "agent"));
    assert(!agent.rawLogs.some((l) => l.includes(gws.a.credential)), "no credential in logs");
  } finally {
    await agent.dispose();
    await gws.close();
  }
});

Deno.test("after a switch of gateway, hello lists the running attempt and a lease_lost abort kills its tree and reports nothing", async () => {
  const gws = twoGateways();
  const store = new FakeStore();
  const agent = await startAgent(gws.a, {}, { servers: [gws.front.url, gws.b.url], random: () => 0 });
  try {
    const assign = makeAssign(["sh", "-c", TREE]);
    gws.a.presign = store.presignFor(assign.job_id);
    gws.b.presign = store.presignFor(assign.job_id);
    await gws.a.waitFor("hello");
    gws.a.send(assign);
    await until(async () => (await pidsOfAttempt(assign.attempt_id)).length >= 4 || undefined, "job tree running");

    await gws.front.crash();
    const hello = await gws.b.waitFor("hello", () => true, 5_000);
    assertEquals(hello.running, [assign.attempt_id], "the new gateway hears which attempt the agent holds");
    assert((await pidsOfAttempt(assign.attempt_id)).length >= 4, "the job survived the switch");

    const mark = gws.b.mark();
    gws.b.send({ type: "attempt.abort", attempt_id: assign.attempt_id, reason: "lease_lost" });
    await agent.waitLog("attempt dropped", (l) => l.attempt_id === assign.attempt_id);
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
    await until(async () => !(await exists(`${agent.workRoot}/${assign.attempt_id}`)), "work folder removed");
    await gws.b.waitSince(mark, "heartbeat", (h) => !h.running.includes(assign.attempt_id));
    await pause(400);
    for (const gw of [gws.a, gws.b]) {
      assertEquals(gw.framesOf("attempt.finished"), [], "no report");
      assertEquals(gw.framesOf("presign.request"), [], "no upload");
    }
    assertEquals(store.putAttempts, []);
  } finally {
    await agent.dispose();
    await gws.close();
    await store.close();
  }
});

for (const failure of ["dies", "goes half-open"] as const) {
  Deno.test(`a report the first gateway did not acknowledge before it ${failure.replace("goes", "went").replace("dies", "died")} is sent to the next one until acknowledged`, async () => {
    const gws = twoGateways();
    const store = new FakeStore();
    gws.a.ackReports = null; // the first gateway never acknowledges
    const agent = await startAgent(gws.a, {}, { servers: [gws.front.url, gws.b.url], random: () => 0 });
    try {
      const assign = makeAssign(["sh", "-c", 'echo done > "$LB_OUTPUT_DIR/result.txt"']);
      gws.a.presign = store.presignFor(assign.job_id);
      await gws.a.waitFor("hello");
      gws.a.send(assign);
      const first = await gws.a.waitFor("attempt.finished");
      assertEquals(first.outcome, "succeeded");

      if (failure === "dies") await gws.front.crash();
      else gws.front.frozen = true;
      const hello = await gws.b.waitFor("hello", () => true, 5_000);
      assertEquals(hello.running, [assign.attempt_id], "held until the report is acknowledged");
      const again = await gws.b.waitFor("attempt.finished", () => true, 5_000);
      assertEquals(again, first, "the same report");
      await agent.waitLog("attempt reported");
      await until(async () => !(await exists(`${agent.workRoot}/${assign.attempt_id}`)), "work folder removed");
      await pause(300);
      assertEquals(gws.b.framesOf("attempt.finished").length, 1, "not sent again once acknowledged");
    } finally {
      await agent.dispose();
      await gws.close();
      await store.close();
    }
  });
}

for (const failure of ["dies", "goes half-open"] as const) {
  Deno.test(`an attempt waiting for its start grant when the gateway ${failure.replace("goes", "went").replace("dies", "died")} asks the next gateway at once and starts once, on its grant`, async () => {
    const gws = twoGateways();
    const store = new FakeStore();
    gws.a.autoGrant = false;
    gws.a.leaseTtlSeconds = 30; // giving up after 3 lease TTLs would take 90 s: far past this test
    gws.b.autoGrant = false;
    const agent = await startAgent(gws.a, {}, { servers: [gws.front.url, gws.b.url], random: () => 0 });
    try {
      const assign = makeAssign(["sh", "-c", 'echo ran >> "$LB_OUTPUT_DIR/runs.txt"']);
      gws.b.presign = store.presignFor(assign.job_id);
      await gws.a.waitFor("hello");
      gws.a.send(assign);
      await gws.a.waitFor("attempt.start_request");

      const failedAt = Date.now();
      if (failure === "dies") await gws.front.crash();
      else gws.front.frozen = true;
      const hello = await gws.b.waitFor("hello", () => true, 5_000);
      assertEquals(hello.running, [assign.attempt_id]);
      await gws.b.waitFor("attempt.start_request", (m) => m.attempt_id === assign.attempt_id, 5_000);
      const took = Date.now() - failedAt;
      assert(took < 4_000, `start asked again ${took} ms after the gateway was lost`);

      await pause(300);
      assertEquals(await pidsOfAttempt(assign.attempt_id), [], "nothing runs before the grant");
      assert(!agent.logs.some((l) => l.msg === "attempt started"));
      gws.b.send({ type: "attempt.start_granted", attempt_id: assign.attempt_id });
      gws.b.send({ type: "attempt.start_granted", attempt_id: assign.attempt_id }); // a repeat changes nothing
      const f = await gws.b.waitFor("attempt.finished");
      assertEquals(f.outcome, "succeeded");
      assertEquals(new TextDecoder().decode(store.puts.get(f.outputs[0]!.key)!.bytes), "ran\n", "the job ran once");
      assertEquals(agent.logs.filter((l) => l.msg === "process started").length, 1);
      assert(!agent.logs.some((l) => l.msg === "no answer to start_request; giving the attempt up"));
    } finally {
      await agent.dispose();
      await gws.close();
      await store.close();
    }
  });
}

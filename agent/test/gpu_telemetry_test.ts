// The agent reports its GPUs: the whole list in hello, and in heartbeats only what changed
// since the last acknowledged one (so an idle agent's heartbeat stays tiny), the GPU use of
// processes that are not its jobs, and a GPU list read again while it runs. The GPUs come
// from a fake nvidia-smi process first on PATH; the jobs are real processes.
import type { Gpu, HeartbeatMessage } from "../../packages/protocol/src/index.ts";
import { createLogger } from "../src/runtime/log.ts";
import { Telemetry } from "../src/telemetry/telemetry.ts";
import { FAILED_READS_BEFORE_GONE, telemetryLoop } from "../src/telemetry/telemetry_loop.ts";
import { assert, assertEquals, assertExists } from "./helpers/assert.ts";
import { makeAssign, startAgent } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { installFakeNvidiaSmi } from "./helpers/fake_nvidia_smi.ts";

const RTX = "GPU-5a1b2c3d-0e1f-2a3b-4c5d-6e7f8a9b0c1d";
const A6000 = "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const smiLine = (i: number, uuid: string, name: string, total: number, used: number, util: number, temp: number) =>
  `${i}, ${uuid}, ${name}, ${total}, ${used}, ${util}, ${temp}\n`;
const TWO_GPUS = smiLine(0, RTX, "NVIDIA GeForce RTX 4090", 24564, 1843, 3, 45) + smiLine(1, A6000, "NVIDIA RTX A6000", 49140, 210, 0, 38);

const gpu = (index: number, used: number, temp: number, others = 0): Gpu => ({
  index, name: `GPU ${index}`, memory_mb: 24564, uuid: `GPU-${index}`, memory_used_mb: used, utilization_percent: 0, temperature_c: temp,
  other_processes: { count: others, memory_mb: 0 },
});
const frame = (t: Telemetry) => JSON.stringify({ type: "heartbeat", running: [], ...t.beat() } satisfies HeartbeatMessage);

Deno.test("telemetry: an idle agent's heartbeat is the bare 33-byte frame once hello told the gateway everything", () => {
  const t = new Telemetry([gpu(0, 500, 40), gpu(1, 500, 41)], [3, 65536, 20000, 400000]);
  const hello = t.hello();
  assertEquals(hello.gpus.length, 2);
  assertEquals(hello.host, [3, 65536, 20000, 400000]);
  // Sensor noise within the dead band (a degree, a few MB, a few percent of CPU) is not news.
  t.update([gpu(0, 520, 41), gpu(1, 500, 42)], [8, 65536, 20100, 399900]);
  assertEquals(frame(t), '{"type":"heartbeat","running":[]}');
  assertEquals(frame(t).length, 33);
});

Deno.test("telemetry: a reading past its dead band is sent, again until acknowledged, then not any more", () => {
  const t = new Telemetry([gpu(0, 500, 40), gpu(1, 500, 41)], null);
  t.hello();
  t.update([gpu(0, 9000, 40), gpu(1, 500, 41, 1)], null);
  assertEquals(t.beat(), { g: [[0, 9000, 0, 40, 0, 0], [1, 500, 0, 41, 1, 0]] });
  // Not acknowledged yet: the next heartbeat repeats it (readings are absolute, so a repeat is harmless).
  assertEquals(t.beat(), { g: [[0, 9000, 0, 40, 0, 0], [1, 500, 0, 41, 1, 0]] });
  t.ack();
  t.ack();
  assertEquals(t.beat(), {});
  t.ack();
  t.update([gpu(0, 9000, 40), gpu(1, 500, 41, 0)], [50, 1, 1, 1]);
  assertEquals(t.beat(), { g: [[1, 500, 0, 41, 0, 0]], h: [50, 1, 1, 1] });
});

Deno.test("telemetry: a changed GPU list is sent whole; a new session's hello starts over", () => {
  const t = new Telemetry([gpu(0, 500, 40)], null);
  t.hello();
  t.update([gpu(0, 500, 40), gpu(1, 0, 30)], [4, 100, 50, 1000]);
  const first = t.beat();
  assertEquals(first.gpus?.map((g) => g.index), [0, 1]);
  assertEquals(first.h, [4, 100, 50, 1000], "a host reading that changed at the same time is not lost");
  t.ack();
  assertEquals(t.beat(), {});
  t.update([gpu(0, 9000, 40), gpu(1, 0, 30)], null);
  t.beat(); // lost with the session: never acknowledged
  assertEquals(t.hello().gpus[0]!.memory_used_mb, 9000);
  t.ack(); // a late ack of the old session changes nothing
  assertEquals(t.beat(), {});
});

Deno.test("telemetry loop: a failed GPU read keeps the last list; only several failures in a row mean the GPUs are gone", async () => {
  const one = [gpu(0, 500, 40)];
  const script: (Gpu[] | "fail")[] = [one, "fail", "fail", one, "fail", "fail", "fail", "fail"];
  const t = new Telemetry([], null);
  const seen: number[] = [];
  const stop = new AbortController();
  const loop = telemetryLoop(t, {
    gpus: () => {
      seen.push(t.currentGpus().length); // the list as the previous read left it
      const next = script.shift();
      if (script.length === 0) stop.abort();
      return next === "fail" || next === undefined ? Promise.reject(new Error("nvidia-smi failed")) : Promise.resolve(next);
    },
    host: () => Promise.resolve([null, null, null, null]),
  }, 1, createLogger(() => {}), stop.signal);
  await loop;
  assertEquals(FAILED_READS_BEFORE_GONE, 3);
  // After: one, fail, fail (kept), one, fail, fail (kept), fail (third in a row: gone).
  assertEquals(seen, [0, 1, 1, 1, 1, 1, 1, 0]);
});

Deno.test("agent: hello lists nvidia-smi's GPUs with readings; heartbeats carry what changed, GPU use by its own jobs is not counted as others'", async () => {
  const smi = await installFakeNvidiaSmi(TWO_GPUS, "");
  const gw = new FakeGateway();
  const agent = await startAgent(gw, { telemetryMs: 50 });
  try {
    const hello = await gw.waitFor("hello");
    // The harness's first reading is empty (as on a box without a driver); the periodic re-read finds the GPUs.
    const listed = await gw.waitFor("heartbeat", (h) => h.gpus !== undefined && h.gpus.length === 2);
    assertEquals(hello.gpus, []);
    // The host's memory and the work folder's free disk are read (the agent's --allow-sys list allows it).
    const host = listed.h ?? hello.host;
    assertExists(host);
    assert(host[1] !== null && host[1] > 0 && host[2] !== null && host[3] !== null && host[3] > 0, `host reading ${JSON.stringify(host)}`);
    assertEquals(listed.gpus, [
      { index: 0, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, uuid: RTX, memory_used_mb: 1843, utilization_percent: 3, temperature_c: 45, other_processes: { count: 0, memory_mb: 0 } },
      { index: 1, name: "NVIDIA RTX A6000", memory_mb: 49140, uuid: A6000, memory_used_mb: 210, utilization_percent: 0, temperature_c: 38, other_processes: { count: 0, memory_mb: 0 } },
    ]);
    // Acknowledged: later heartbeats of an unchanged box carry no GPU fields.
    const quiet = gw.mark();
    await gw.waitSince(quiet, "heartbeat", (h) => h.gpus === undefined && h.g === undefined);

    // A real job: its main process and a child it starts both hold GPU 0.
    const assign = makeAssign(["sh", "-c", 'sleep 30 & echo "pids $$ $!"; wait']);
    gw.send(assign);
    const progress = await gw.waitFor("attempt.progress", (m) => m.attempt_id === assign.attempt_id && m.message.startsWith("pids "));
    const [, main, child] = progress.message.split(" ");
    // This test process is someone else's: it holds GPU 1. Processes first, then the GPU list, so a
    // reading that sees the new memory figure also sees the new processes.
    await smi.setApps(`${main}, 300, ${RTX}\n${child}, 200, ${RTX}\n${Deno.pid}, 1000, ${A6000}\n`);
    const mark = gw.mark();
    await smi.setGpus(smiLine(0, RTX, "NVIDIA GeForce RTX 4090", 24564, 2343, 3, 45) + smiLine(1, A6000, "NVIDIA RTX A6000", 49140, 1210, 0, 38));
    const changed = await gw.waitSince(mark, "heartbeat", (h) => (h.g ?? []).some((r) => r[0] === 0 && r[1] === 2343));
    assertEquals(changed.g, [[0, 2343, 3, 45, 0, 0], [1, 1210, 0, 38, 1, 1000]]);
    assertEquals(changed.gpus, undefined, "the inventory did not change");
    assert(changed.running.includes(assign.attempt_id));
  } finally {
    await agent.dispose();
    await gw.close();
    await smi.dispose();
  }
});

Deno.test("agent: a GPU that appears while the agent runs is reported without a restart", async () => {
  const smi = await installFakeNvidiaSmi(smiLine(0, RTX, "NVIDIA GeForce RTX 4090", 24564, 1843, 3, 45), "");
  const gw = new FakeGateway();
  const agent = await startAgent(gw, { telemetryMs: 50 });
  try {
    await gw.waitFor("heartbeat", (h) => h.gpus?.length === 1);
    const mark = gw.mark();
    await smi.setGpus(TWO_GPUS);
    const beat = await gw.waitSince(mark, "heartbeat", (h) => h.gpus !== undefined);
    assertExists(beat.gpus);
    assertEquals(beat.gpus.map((g) => [g.index, g.uuid]), [[0, RTX], [1, A6000]]);
    assert((await smi.calls()).length >= 2, "nvidia-smi was asked again");
  } finally {
    await agent.dispose();
    await gw.close();
    await smi.dispose();
  }
});

Deno.test("agent: without nvidia-smi the agent reports no GPUs and runs jobs all the same", async () => {
  const gw = new FakeGateway();
  const agent = await startAgent(gw, { telemetryMs: 50 });
  try {
    const hello = await gw.waitFor("hello");
    assertEquals(hello.gpus, []);
    const assign = makeAssign(["sh", "-c", "echo ran; sleep 5"]);
    gw.send(assign);
    await gw.waitFor("attempt.progress", (m) => m.attempt_id === assign.attempt_id && m.message === "ran");
    const mark = gw.mark();
    const beat = await gw.waitSince(mark, "heartbeat");
    assertEquals(beat.gpus, undefined);
    assertEquals(beat.g, undefined);
  } finally {
    await agent.dispose();
    await gw.close();
  }
});

// The agent yields to the workstation's user: another program on the GPU (a fake
// nvidia-smi first on PATH printing what a real one printed, agent/test/fixtures) or input
// at the console pauses it, the gateway is told each pause and resume, an assignment that
// races the pause is handed back, and it resumes after the (shortened) idle time.
import { PauseState } from "../src/control/pause_state.ts";
import { DEFAULT_YIELD_POLICY, type YieldPolicy } from "../src/control/yield_policy.ts";
import { gpuContention, YieldWatch } from "../src/control/yield_watch.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { makeAssign, withAgent } from "./helpers/agent_harness.ts";
import { installFakeNvidiaSmi } from "./helpers/fake_nvidia_smi.ts";

const fixture = (name: string) => Deno.readTextFile(new URL(`./fixtures/${name}`, import.meta.url));

function control(policy: Partial<YieldPolicy>) {
  const pause = new PauseState(Date.now);
  const p = { ...DEFAULT_YIELD_POLICY, ...policy };
  return { pause, watch: new YieldWatch(pause, p, Date.now), onActivity: p.onActivity };
}

Deno.test("gpu contention: someone else's VRAM at the threshold counts, below it not; WDDM's unknown per-process memory counts by itself", async () => {
  const h100 = { index: 0, name: "NVIDIA H100 80GB HBM3", memory_mb: 81559 };
  assertEquals(gpuContention([{ ...h100, other_processes: { count: 2, memory_mb: 70824 } }], 256), "GPU 0: 2 other processes use 70824 MB");
  assertEquals(gpuContention([{ ...h100, other_processes: { count: 1, memory_mb: 255 } }], 256), null);
  assertEquals(gpuContention([{ ...h100, other_processes: { count: 0, memory_mb: 0 } }], 0), null);
  // What nvidia-smi says on Windows (fixture nvidia-smi-windows-2gpu-apps.txt): pids, [N/A] memory.
  assertEquals(gpuContention([{ ...h100, index: 1, other_processes: { count: 1, memory_mb: null } }], 256), "GPU 1: 1 other compute process");
  assert((await fixture("nvidia-smi-windows-2gpu-apps.txt")).includes("[N/A]"));
});

Deno.test("agent: another program on the GPU pauses it (gpu_busy, told to the gateway), a racing assignment is handed back, and it resumes after the idle time", async () => {
  // The real H100 capture: two processes that are not the agent's jobs hold 70312 + 512 MB.
  const smi = await installFakeNvidiaSmi(await fixture("nvidia-smi-linux-h100-readings.txt"), await fixture("nvidia-smi-linux-h100-apps.txt"));
  try {
    await withAgent(async ({ gw }) => {
      const paused = await gw.waitFor("agent.pause_state", (m) => m.pause?.source === "gpu_busy");
      assertEquals(paused.pause, { source: "gpu_busy", reason: "GPU 0: 2 other processes use 70824 MB", until: null });

      const racing = makeAssign(["sh", "-c", "echo should-not-run"]);
      gw.send(racing);
      const back = await gw.waitFor("attempt.finished", (m) => m.attempt_id === racing.attempt_id);
      assertEquals([back.outcome, back.error?.code], ["failed", "agent_paused"]);
      assertEquals(gw.frames.filter((f) => f.msg.type === "attempt.start_request").length, 0, "nothing was started");

      const freedAt = Date.now();
      await smi.setApps("");
      await gw.waitFor("agent.pause_state", (m) => m.pause === null, 15_000, 1);
      // The idle time counts from the last busy reading, which may precede setApps by one interval (50 ms).
      assert(Date.now() - freedAt >= 400 - 50, `resumed ${Date.now() - freedAt} ms after the GPU was free, before the idle time`);

      const next = makeAssign(["sh", "-c", "echo ran; sleep 5"]);
      gw.send(next);
      await gw.waitFor("attempt.progress", (m) => m.attempt_id === next.attempt_id && m.message === "ran");
    }, { telemetryMs: 50 }, { control: control({ resumeAfterIdleMs: 400 }) });
  } finally {
    await smi.dispose();
  }
});

Deno.test("agent: with stop_running, someone at the console stops the running job, reported as yielded_to_owner", async () => {
  const c = control({ onActivity: "stop_running" });
  await withAgent(async ({ gw, store }) => {
    await gw.waitFor("agent.pause_state");
    const assign = makeAssign(["sh", "-c", "echo started; sleep 30"]);
    gw.presign = store.presignFor(assign.job_id);
    gw.send(assign);
    await gw.waitFor("attempt.progress", (m) => m.attempt_id === assign.attempt_id && m.message === "started");
    c.watch.observeUserIdle(1_000, "alice");
    const paused = await gw.waitFor("agent.pause_state", (m) => m.pause?.source === "user_active");
    assertEquals(paused.pause?.reason, "someone is using the workstation (session alice)");
    const done = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id);
    assertEquals([done.outcome, done.error?.code], ["failed", "yielded_to_owner"]);
    assert(done.error!.message.includes("session alice"), done.error!.message);
  }, {}, { control: c });
});

Deno.test("agent: by default (stop_taking) someone at the console leaves the running job alone", async () => {
  const c = control({});
  await withAgent(async ({ gw, store }) => {
    await gw.waitFor("agent.pause_state");
    const assign = makeAssign(["sh", "-c", "echo started; sleep 1; echo still-here"]);
    gw.presign = store.presignFor(assign.job_id);
    gw.send(assign);
    await gw.waitFor("attempt.progress", (m) => m.attempt_id === assign.attempt_id && m.message === "started");
    c.watch.observeUserIdle(0, "alice");
    await gw.waitFor("agent.pause_state", (m) => m.pause?.source === "user_active");
    const done = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id);
    assertEquals(done.outcome, "succeeded");
    assert(c.pause.paused(), "still paused: only new work waits");
  }, {}, { control: c });
});

Deno.test("agent: the API's pause is held beside the owner's, and each is lifted on its own", async () => {
  const c = control({});
  await withAgent(async ({ gw }) => {
    await gw.waitFor("agent.pause_state", (m) => m.pause === null);
    gw.send({ type: "agent.pause", reason: "maintenance", until: null });
    c.pause.hold("local", "demo");
    await gw.waitFor("agent.pause_state", (m) => m.pause?.source === "local");
    gw.send({ type: "agent.resume", reason: null });
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(c.pause.view(), { source: "local", reason: "demo", until: null });
    c.pause.release("local");
    await gw.waitFor("agent.pause_state", (m) => m.pause === null, 15_000, 1);
    assertEquals(c.pause.paused(), false);
  }, {}, { control: c });
});

Deno.test("agent: each pause and resume is one log line with its source and what still holds", async () => {
  const c = control({});
  await withAgent(async ({ gw, agent }) => {
    await gw.waitFor("agent.pause_state");
    gw.send({ type: "agent.pause", reason: "maintenance", until: null });
    await agent.waitLog("agent paused", (l) => l.source === "api");
    c.pause.hold("local", "demo");
    c.pause.release("local");
    const lifted = await agent.waitLog("agent pause lifted", (l) => l.source === "local");
    assertEquals(lifted.pause, { source: "api", reason: "maintenance", until: null });
    assertEquals(agent.logs.filter((l) => l.msg === "agent paused").length, 2);
  }, {}, { control: c });
});

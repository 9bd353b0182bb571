// A job sees exactly the GPUs its assignment gave it: CUDA_VISIBLE_DEVICES lists them (uuid,
// or index where the uuid is unknown) in PCI bus order; a job given none sees none; its own
// env cannot widen the share; an assignment that says nothing (older gateway) changes nothing.
// Real jobs print their environment, read back from their uploaded stdout log.
import type { AssignMessage } from "../../packages/protocol/src/index.ts";
import { assertEquals } from "./helpers/assert.ts";
import { makeAssign, startAgent } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore } from "./helpers/fake_store.ts";

const PRINT = 'echo "visible=[${CUDA_VISIBLE_DEVICES-unset}] order=[${CUDA_DEVICE_ORDER-unset}]"';

async function runAndPrint(extra: Partial<AssignMessage>): Promise<string> {
  const gw = new FakeGateway();
  const store = new FakeStore();
  // The agent's own environment sets CUDA_VISIBLE_DEVICES, which the CUDA_ allow-list passes on.
  const agent = await startAgent(gw, {}, { agentEnv: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", CUDA_VISIBLE_DEVICES: "7" } });
  try {
    const assign = makeAssign(["sh", "-c", PRINT], extra);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const finished = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id);
    assertEquals(finished.outcome, "succeeded");
    const log = store.puts.get(`jobs/${assign.job_id}/${assign.attempt_id}/logs/stdout.log`);
    return new TextDecoder().decode(log!.bytes).trim();
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
}

Deno.test("CUDA_VISIBLE_DEVICES: a job given GPUs sees them by uuid, or by index where the uuid is missing, in PCI bus order", async () => {
  const out = await runAndPrint({ gpus: [{ index: 1, uuid: "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" }, { index: 2 }] });
  assertEquals(out, "visible=[GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0,2] order=[PCI_BUS_ID]");
});

Deno.test("CUDA_VISIBLE_DEVICES: a job's own env cannot widen the GPUs it was given", async () => {
  const out = await runAndPrint({ gpus: [{ index: 0, uuid: "GPU-aa" }], env: { CUDA_VISIBLE_DEVICES: "0,1,2,3", CUDA_DEVICE_ORDER: "FASTEST_FIRST" } });
  assertEquals(out, "visible=[GPU-aa] order=[PCI_BUS_ID]");
});

Deno.test("CUDA_VISIBLE_DEVICES: a job given no GPU sees none, not the GPUs other attempts hold", async () => {
  const out = await runAndPrint({ gpus: [] });
  assertEquals(out, "visible=[] order=[PCI_BUS_ID]");
});

Deno.test("CUDA_VISIBLE_DEVICES: an assignment without a gpus field leaves the environment as it was", async () => {
  const out = await runAndPrint({});
  assertEquals(out, "visible=[7] order=[unset]");
});

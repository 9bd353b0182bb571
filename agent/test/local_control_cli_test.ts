// The owner's commands against a real `run` process: `status` live, `pause --for` reaching
// the gateway as the agent's own pause, kept across a restart, `resume`, and what the
// commands say once the agent stopped. Real processes, real endpoint, a fake gateway.
import { writeIdentity } from "../src/runtime/agent_state.ts";
import { currentOs } from "../src/os/current.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { runCli, spawnCli } from "./helpers/cli.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { until } from "./helpers/wait.ts";

async function stop(child: Deno.ChildProcess): Promise<number> {
  child.kill("SIGTERM");
  const { code } = await child.status;
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
  return code;
}

Deno.test("owner commands: status is live, pause --for reaches the gateway and survives a restart, resume lifts it, a stopped agent is said to be not running", async () => {
  const gw = new FakeGateway();
  const parent = await Deno.makeTempDir({ prefix: "lb-control-cli-" });
  await Deno.chmod(parent, 0o711);
  const dir = `${parent}/state`;
  await writeIdentity(dir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  let child = spawnCli(["run", "--state-dir", dir]);
  try {
    await gw.waitFor("agent.pause_state", (m) => m.pause === null, 30_000);
    const status = await runCli(["status", "--state-dir", dir]);
    assertEquals(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assertEquals([s.running, s.live.connected, s.live.gateway, s.live.paused, s.live.pause], [true, true, gw.url.replace(/\/$/, "") + "/v1/agent", false, null]);
    assert(typeof s.live.session_age_seconds === "number");
    assert(!status.stdout.includes(gw.credential), "no credential in status");

    const paused = await runCli(["pause", "--state-dir", dir, "--for", "2h", "--reason", "demo at 3"]);
    assertEquals(paused.code, 0, paused.stderr);
    assertEquals(JSON.parse(paused.stdout).pause.source, "local");
    const frame = await gw.waitFor("agent.pause_state", (m) => m.pause?.source === "local");
    assertEquals(frame.pause?.reason, "demo at 3");
    assert(Date.parse(frame.pause!.until!) > Date.now() + 7_100_000);

    assertEquals(await stop(child), 0);
    child = spawnCli(["run", "--state-dir", dir]);
    await gw.waitFor("agent.pause_state", (m) => m.pause?.source === "local", 30_000, 1);

    const resumed = await runCli(["resume", "--state-dir", dir]);
    assertEquals([resumed.code, JSON.parse(resumed.stdout).paused], [0, false]);
    await gw.waitFor("agent.pause_state", (m) => m.pause === null, 15_000, 1);

    assertEquals(await stop(child), 0);
    await until(async () => !(await Deno.stat(`${dir}/control.json`).then(() => true, () => false)) || undefined, "control.json removed");
    const after = await runCli(["status", "--state-dir", dir]);
    assertEquals([after.code, JSON.parse(after.stdout).note], [0, "agent not running"]);
    const refused = await runCli(["pause", "--state-dir", dir]);
    assertEquals(refused.code, 4);
    assert(JSON.parse(refused.stdout).error.startsWith("agent not running"));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await gw.close();
    await Deno.remove(parent, { recursive: true }).catch(() => {});
  }
});

Deno.test("run: a control port already taken costs the local commands, not the agent: it still connects and takes jobs", async () => {
  const gw = new FakeGateway();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const parent = await Deno.makeTempDir({ prefix: "lb-control-cli-" });
  await Deno.chmod(parent, 0o711);
  const dir = `${parent}/state`;
  await writeIdentity(dir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  const child = spawnCli(["run", "--state-dir", dir, "--control-port", String((taken.addr as Deno.NetAddr).port)]);
  try {
    await gw.waitFor("hello", () => true, 30_000);
    const status = await runCli(["status", "--state-dir", dir]);
    assertEquals(JSON.parse(status.stdout).running, false);
    assertEquals(await stop(child), 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    taken.close();
    await gw.close();
    await Deno.remove(parent, { recursive: true }).catch(() => {});
  }
});

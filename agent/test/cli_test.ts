// The real CLI as a separate process: (a) enroll, status, usage errors, and `run` stopping
// cleanly on SIGTERM / recovering after being killed.
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { writeIdentity } from "../src/runtime/agent_state.ts";
import { currentOs } from "../src/os/current.ts";
import { exists, makeAssign } from "./helpers/agent_harness.ts";
import { collectLines, CONFIG, MAIN, permissionFlags, runCli, spawnCli } from "./helpers/cli.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { pidsOfAttempt } from "./helpers/procs.ts";
import { until } from "./helpers/wait.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "lb-agent-cli-" });
}

Deno.test("enroll writes agent.json 0600 and sends the token only in the Authorization header", async () => {
  const gw = new FakeGateway();
  const dir = await tempDir();
  const stateDir = `${dir}/state`;
  try {
    const r = await runCli([
      "enroll",
      "--server",
      gw.url,
      "--token",
      gw.enrollToken,
      "--state-dir",
      stateDir,
      "--name",
      "lab-1",
      "--labels",
      "gpu=4090,room=b12",
    ]);
    assertEquals(r.code, 0, r.stderr + r.stdout);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const ok = lines.find((l) => l.msg === "enrolled");
    assertEquals(ok?.agent_id, gw.agentId);
    assert(!r.stdout.includes(gw.enrollToken) && !r.stderr.includes(gw.enrollToken), "token never printed");
    assert(!r.stdout.includes(gw.credential) && !r.stderr.includes(gw.credential), "credential never printed");

    // The token travelled in the header only: not in the URL, not in a frame.
    assertEquals(gw.conns.length, 1);
    assertEquals(gw.conns[0]!.path, "/v1/enroll");
    assertEquals(gw.conns[0]!.authorization, `Bearer ${gw.enrollToken}`);
    assert(!gw.conns[0]!.url.includes(gw.enrollToken));
    assert(!JSON.stringify(gw.frames).includes(gw.enrollToken));
    const enroll = gw.framesOf("enroll")[0]!;
    assertEquals(enroll.name, "lab-1");
    assertEquals(enroll.labels, { gpu: "4090", room: "b12" });
    assertEquals(enroll.os, Deno.build.os);
    assert(enroll.hostname.length > 0);

    const file = `${stateDir}/agent.json`;
    assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    assertEquals(JSON.parse(await Deno.readTextFile(file)), {
      servers: [gw.url],
      agent_id: gw.agentId,
      credential: gw.credential,
      name: "lab-1",
      work_dir: `${stateDir}-work`,
      job_user: "labbridge-job",
      pass_env: [],
    });
    assertEquals([...Deno.readDirSync(stateDir)].map((e) => e.name), ["agent.json"], "no temp file left behind");

    const status = await runCli(["status", "--state-dir", stateDir]);
    assertEquals(status.code, 0);
    const { jobs, proxy, ...who } = JSON.parse(status.stdout);
    assertEquals(who, {
      enrolled: true, agent_id: gw.agentId, name: "lab-1", servers: [gw.url], state_dir: stateDir, running: false, live: null, note: "agent not running",
    });
    // "none" unless this machine's environment names a proxy for the gateway.
    assertEquals(typeof proxy, "string");
    assertEquals(jobs.work_dir, `${stateDir}-work`);
    assert(!status.stdout.includes(gw.credential), "status never prints the credential");

    const again = await runCli(["enroll", "--server", gw.url, "--token", gw.enrollToken, "--state-dir", stateDir]);
    assertEquals(again.code, 1, "an enrolled folder is not overwritten");
    assertMatch(again.stdout, /already enrolled/);
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}-work`, { recursive: true }).catch(() => {});
  }
});

Deno.test("enroll with a refused token exits 1 and writes nothing", async () => {
  const gw = new FakeGateway();
  const dir = await tempDir();
  try {
    const r = await runCli(["enroll", "--server", gw.url, "--token", "lbe_wrong", "--state-dir", dir]);
    assertEquals(r.code, 1);
    assertMatch(r.stdout, /refused the enrollment token/);
    assert(!r.stdout.includes("lbe_wrong"));
    assert(!(await exists(`${dir}/agent.json`)));
    const status = await runCli(["status", "--state-dir", dir]);
    assertEquals(status.code, 1);
    assertEquals(JSON.parse(status.stdout).enrolled, false);
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}-work`, { recursive: true }).catch(() => {});
  }
});

Deno.test("usage errors exit 2 with the usage line", async () => {
  for (
    const args of [[], ["frobnicate"], ["run"], ["run", "--state-dir"], ["run", "--state-dir", "/x", "--bogus", "1"], [
      "enroll",
      "--server",
      "ws://h",
      "--state-dir",
      "/x",
    ]]
  ) {
    const r = await runCli(args);
    assertEquals(r.code, 2, `args ${JSON.stringify(args)}`);
    assertMatch(r.stderr, /usage: labbridge-agent enroll/);
  }
  const bad = await runCli(["enroll", "--server", "ftp://x", "--token", "t", "--state-dir", "/tmp/x"]);
  assertEquals(bad.code, 2);
});

Deno.test("run: SIGTERM kills running job trees, reports them, closes the socket with 1000 and exits 0", async () => {
  const gw = new FakeGateway();
  const dir = await tempDir();
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
    const status = await child.status;
    await out.done;
    await err.done;
    assertEquals(status.code, 0, err.lines.join("\n"));
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
    await until(() => gw.conns[0]!.closeCode !== null || undefined, "close seen by gateway");
    assertEquals(gw.conns[0]!.closeCode, 1000);
    const logs = out.lines.map((l) => JSON.parse(l));
    assert(logs.some((l) => l.msg === "stop signal received; stopping" && l.signal === "SIGTERM"));
    assert(logs.every((l) => typeof l.level === "string" && typeof l.time === "string"));
    assert(!out.lines.some((l) => l.includes(gw.credential)), "credential never logged");
    // The same lines are in the state folder's log file, and `logs` prints its tail.
    const file = (await Deno.readTextFile(`${dir}/logs/agent.log`)).trimEnd().split("\n");
    assertEquals(file, out.lines);
    const tail = await runCli(["logs", "--state-dir", dir, "--lines", "2"]);
    assertEquals(tail.code, 0, tail.stderr);
    assertEquals(tail.stdout.trimEnd().split("\n"), out.lines.slice(-2));
    // The stop is reported before the socket closes (agent/test/stop_test.ts goes further).
    assertEquals(gw.framesOf("attempt.finished").map((f) => f.error?.code), ["agent_stopped"]);
    assert(!(await exists(`${dir}-work/${assign.attempt_id}`)), "folder of the reported attempt removed");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await gw.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}-work`, { recursive: true }).catch(() => {});
  }
});

Deno.test("run after a crash: the orphaned job tree is ended and its folder removed", async () => {
  const gw = new FakeGateway();
  const dir = await tempDir();
  await writeIdentity(dir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  const assign = makeAssign(["sh", "-c", "sleep 300 & sleep 301"]);
  let child = spawnCli(["run", "--state-dir", dir]);
  try {
    await gw.waitFor("hello", () => true, 30_000);
    gw.send(assign);
    await until(async () => (await pidsOfAttempt(assign.attempt_id)).length >= 3 || undefined, "job tree running");
    child.kill("SIGKILL"); // the agent dies; its job (own session) keeps running
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    assert((await pidsOfAttempt(assign.attempt_id)).length >= 3, "orphans survive the agent");

    child = spawnCli(["run", "--state-dir", dir]);
    const hello = await gw.waitFor("hello", () => true, 30_000, 1);
    assertEquals(hello.restarted, true);
    assertEquals(hello.running, []);
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
    assert(!(await exists(`${dir}-work/${assign.attempt_id}`)));
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
    await child.stdout.cancel();
    await child.stderr.cancel();
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await gw.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}-work`, { recursive: true }).catch(() => {});
  }
});

Deno.test("run: a second agent on the same state folder refuses to start", async () => {
  const gw = new FakeGateway();
  const dir = await tempDir();
  await writeIdentity(dir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  const first = spawnCli(["run", "--state-dir", dir]);
  const out = collectLines(first.stdout);
  const err = collectLines(first.stderr);
  try {
    await gw.waitFor("hello", () => true, 30_000);
    const second = await runCli(["run", "--state-dir", dir]);
    assertEquals(second.code, 1);
    assertMatch(second.stdout, /already running with this state folder/);
    assertEquals(gw.framesOf("hello").length, 1);
    first.kill("SIGTERM");
    assertEquals((await first.status).code, 0);
  } finally {
    try {
      first.kill("SIGKILL");
    } catch { /* already exited */ }
    await first.status;
    await out.done;
    await err.done;
    await gw.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}-work`, { recursive: true }).catch(() => {});
  }
});

Deno.test("run: a relative --state-dir still gives the job absolute LB_* paths", async () => {
  const gw = new FakeGateway();
  const dir = await tempDir();
  const { FakeStore } = await import("./helpers/fake_store.ts");
  const store = new FakeStore();
  await writeIdentity(dir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  const rel = dir.split("/").pop()!;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--config", CONFIG, ...permissionFlags(), MAIN, "run", "--state-dir", rel],
    cwd: `${dir}/..`,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await gw.waitFor("hello", () => true, 30_000);
    const assign = makeAssign(["sh", "-c", 'printf "%s\n%s\n%s" "$LB_INPUT_DIR" "$LB_OUTPUT_DIR" "$PWD" > "$LB_OUTPUT_DIR/paths.txt"']);
    gw.presign = store.presignFor(assign.job_id);
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    const [inputs, outputs, cwd] = new TextDecoder().decode(store.puts.get(f.outputs[0]!.key)!.bytes).split("\n");
    assertEquals(inputs, `${dir}-work/${assign.attempt_id}/inputs`);
    assertEquals(outputs, `${dir}-work/${assign.attempt_id}/outputs`);
    assertEquals(cwd, `${dir}-work/${assign.attempt_id}`);
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await gw.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}-work`, { recursive: true }).catch(() => {});
  }
});

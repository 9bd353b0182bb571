// The real CLI with several gateway addresses: enroll tries them in order and stores them
// all; `run --server` replaces them for one run; an agent.json from before lists still runs.
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { collectLines, runCli, spawnCli } from "./helpers/cli.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";

/** A ws:// address nothing listens on: connecting is refused at once, like a dead gateway's. */
function deadGatewayUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return `ws://127.0.0.1:${port}`;
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "lb-agent-cli-" });
}

/** Runs `run` until the gateway hears hello, then stops it with SIGTERM. */
async function runUntilHello(args: string[], gw: FakeGateway): Promise<string[]> {
  const child = spawnCli(args);
  const out = collectLines(child.stdout);
  const err = collectLines(child.stderr);
  try {
    await gw.waitFor("hello", () => true, 30_000);
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await out.done;
    await err.done;
  }
  return out.lines;
}

Deno.test("enroll with the first gateway unreachable succeeds through the second and stores both", async () => {
  const gw = new FakeGateway();
  const dead = deadGatewayUrl();
  const dir = await tempDir();
  try {
    const r = await runCli(["enroll", "--server", `${dead},${gw.url}`, "--token", gw.enrollToken, "--state-dir", dir]);
    assertEquals(r.code, 0, r.stderr + r.stdout);
    const logs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert(logs.some((l) => l.msg === "cannot reach gateway to enroll" && l.server === dead), "the dead gateway was tried first");
    assertEquals(logs.find((l) => l.msg === "enrolled")?.server, gw.url);
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/agent.json`)).servers, [dead, gw.url]);
    assert(!r.stdout.includes(gw.enrollToken) && !r.stdout.includes(gw.credential));
    const status = await runCli(["status", "--state-dir", dir]);
    assertEquals(JSON.parse(status.stdout).servers, [dead, gw.url]);
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("enroll stops at a gateway that refuses the token: the next one is never asked", async () => {
  const first = new FakeGateway();
  const second = new FakeGateway(first);
  const dir = await tempDir();
  try {
    const r = await runCli(["enroll", "--server", `${first.url},${second.url}`, "--token", "lbe_wrong", "--state-dir", dir]);
    assertEquals(r.code, 1);
    assertMatch(r.stdout, /refused the enrollment token/);
    assertEquals(first.conns.length, 1);
    assertEquals(second.conns.length, 0);
    assertEquals([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await first.close();
    await second.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("enroll names a bad or repeated gateway in the list and exits 2", async () => {
  const bad = await runCli(["enroll", "--server", "ws://a:8081,ftp://b", "--token", "t", "--state-dir", "/tmp/x"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--server "ftp:\/\/b" must start with/);
  const twice = await runCli(["enroll", "--server", "ws://a:8081,ws://a:8081/", "--token", "t", "--state-dir", "/tmp/x"]);
  assertEquals(twice.code, 2);
  assertMatch(twice.stderr, /--server "ws:\/\/a:8081\/" is given twice/);
});

Deno.test("run --server replaces the enrolled gateways for that run only", async () => {
  const gw = new FakeGateway();
  const dead = deadGatewayUrl();
  const dir = await tempDir();
  const stored = { servers: [dead], agent_id: gw.agentId, credential: gw.credential, name: "t" };
  await Deno.writeTextFile(`${dir}/agent.json`, JSON.stringify(stored));
  try {
    const lines = await runUntilHello(["run", "--state-dir", dir, "--server", gw.url], gw);
    const logs = lines.map((l) => JSON.parse(l));
    assertEquals(logs.find((l) => l.msg === "agent starting")?.servers, [gw.url]);
    assert(!logs.some((l) => l.msg === "cannot reach gateway"), "the enrolled (dead) gateway was not tried");
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/agent.json`)), stored, "agent.json untouched");
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run with an agent.json from before gateway lists (one `server`) connects to it", async () => {
  const gw = new FakeGateway();
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/agent.json`, JSON.stringify({ server: gw.url, agent_id: gw.agentId, credential: gw.credential, name: "t" }));
  try {
    await runUntilHello(["run", "--state-dir", dir], gw);
    assertEquals(gw.conns[0]!.authorization, `Bearer ${gw.credential}`);
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

import { defaultWorkRoot, readIdentity, StateError, workRootProblem, writeIdentity } from "../src/runtime/agent_state.ts";
import { endpointUrl, isCleartextRemote, serverUrlProblem } from "../src/session/server_url.ts";
import { parseProcStat, parseProcStats } from "../src/os/linux.ts";
import { linuxSeam } from "../src/os/linux.ts";
import { ID_PREFIX, newId } from "../../packages/protocol/src/index.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

Deno.test("agent.json: atomic 0600 write, read back, damage detected", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lb-agent-state-" });
  try {
    assertEquals(await readIdentity(dir), null);
    const id = { servers: ["wss://gw"], agent_id: newId(ID_PREFIX.agent), credential: "lbc_x", name: "n" };
    await writeIdentity(`${dir}/nested`, id, linuxSeam);
    assertEquals(await readIdentity(`${dir}/nested`), id);
    assertEquals((await Deno.stat(`${dir}/nested/agent.json`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/nested`)).mode! & 0o777, 0o700);
    await writeIdentity(`${dir}/nested`, { ...id, name: "m" }, linuxSeam);
    assertEquals((await readIdentity(`${dir}/nested`))?.name, "m");
    assertEquals([...Deno.readDirSync(`${dir}/nested`)].length, 1);
    await Deno.writeTextFile(`${dir}/nested/agent.json`, "{");
    let err: unknown;
    await readIdentity(`${dir}/nested`).catch((e) => (err = e));
    assert(err instanceof StateError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server URL: endpoints and checks", () => {
  assertEquals(endpointUrl("ws://127.0.0.1:8081", "enroll"), "ws://127.0.0.1:8081/v1/enroll");
  assertEquals(endpointUrl("https://gw.example/base/", "agent"), "wss://gw.example/base/v1/agent");
  assertEquals(serverUrlProblem("wss://gw.example"), null);
  assert(serverUrlProblem("ftp://x") !== null);
  assert(serverUrlProblem("wss://gw?token=x") !== null, "no secrets in the URL");
  assert(serverUrlProblem("wss://u:p@gw") !== null);
  assert(serverUrlProblem("not a url") !== null);
  assertEquals(isCleartextRemote("ws://127.0.0.1:8081"), false);
  assertEquals(isCleartextRemote("ws://lab-gw.local:8081"), true);
  assertEquals(isCleartextRemote("wss://gw"), false);
});

Deno.test("/proc/<pid>/stat parsing copes with spaces and parentheses in the name", () => {
  const line = "4242 (my (weird) prog) S 100 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
  assertEquals(parseProcStat(line), { pid: 4242, ppid: 100, pgid: 4242, state: "S", start: "987654" });
  assertEquals(parseProcStats(line + "\n" + "garbage\n").size, 1);
});

Deno.test("agent.json from before gateway lists (one `server`) still loads, as a list of one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lb-agent-state-" });
  try {
    const agentId = newId(ID_PREFIX.agent);
    await Deno.writeTextFile(`${dir}/agent.json`, JSON.stringify({ server: "wss://old-gw", agent_id: agentId, credential: "lbc_x", name: "n" }));
    assertEquals(await readIdentity(dir), { servers: ["wss://old-gw"], agent_id: agentId, credential: "lbc_x", name: "n" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent.json with an empty, mistyped or unusable gateway list is damaged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lb-agent-state-" });
  try {
    const base = { agent_id: newId(ID_PREFIX.agent), credential: "lbc_x", name: "n" };
    for (const bad of [{ servers: [] }, { servers: "wss://gw" }, { servers: ["wss://gw", 7] }, { servers: ["wss://gw?token=x"] }, {}]) {
      await Deno.writeTextFile(`${dir}/agent.json`, JSON.stringify({ ...base, ...bad }));
      let err: unknown;
      await readIdentity(dir).catch((e) => (err = e));
      assert(err instanceof StateError, `${JSON.stringify(bad)} refused`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent.json keeps the job settings; a file without them still loads; mistyped ones are damage", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lb-agent-state-" });
  try {
    const base = { servers: ["wss://gw"], agent_id: newId(ID_PREFIX.agent), credential: "lbc_x", name: "n" };
    const full = { ...base, work_dir: "/var/lib/lb-work", job_user: "lab-jobs", pass_env: ["HF_HOME"] };
    await writeIdentity(dir, full, linuxSeam);
    assertEquals(await readIdentity(dir), full);
    await writeIdentity(dir, base, linuxSeam);
    assertEquals(await readIdentity(dir), base);
    for (const bad of [{ work_dir: "" }, { job_user: 7 }, { pass_env: "HF_HOME" }, { pass_env: [""] }]) {
      await Deno.writeTextFile(`${dir}/agent.json`, JSON.stringify({ ...base, ...bad }));
      let err: unknown;
      await readIdentity(dir).catch((e) => (err = e));
      assert(err instanceof StateError, JSON.stringify(bad));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the work folder defaults to a sibling of the state folder and may not be inside it, nor hold it", () => {
  assertEquals(defaultWorkRoot("/var/lib/labbridge"), "/var/lib/labbridge-work");
  assertEquals(defaultWorkRoot("/var/lib/labbridge/"), "/var/lib/labbridge-work");
  assertEquals(workRootProblem("/var/lib/labbridge", "/var/lib/labbridge-work"), null);
  assertEquals(workRootProblem("/var/lib/labbridge", "/srv/work"), null);
  assert(workRootProblem("/var/lib/labbridge", "/var/lib/labbridge/work")?.includes("is inside the state folder"));
  assert(workRootProblem("/var/lib/labbridge", "/var/lib/labbridge")?.includes("is inside the state folder"));
  assert(workRootProblem("/var/lib/labbridge", "/var/lib")?.includes("is inside the work folder"));
});

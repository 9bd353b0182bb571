// `npm run agent` = scripts/agent.mjs (Node) running the Deno agent: the two live and die
// together. Real processes only: the wrapper is started in a process group of its own (as
// a terminal or a supervisor would start it), a real job runs, and then the wrapper is
// ended the way a supervisor, a test harness or a closed terminal ends it. Every pid is
// collected and seen alive first; afterwards none of them may be left. The test signals
// only the processes it started, by pid or by the group it created.
import { fileURLToPath } from "node:url";
import { writeIdentity } from "../src/runtime/agent_state.ts";
import { currentOs } from "../src/os/current.ts";
import { readProcs } from "../src/os/linux.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { makeAssign } from "./helpers/agent_harness.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { isAlive, pidsOfAttempt } from "./helpers/procs.ts";
import { until } from "./helpers/wait.ts";

const AGENT_MJS = fileURLToPath(new URL("../../scripts/agent.mjs", import.meta.url));

interface Output {
  lines: string[];
  done: Promise<void>;
  /** Stops reading and closes the pipe, as a closed terminal would. */
  close(): Promise<void>;
}

/** Collects a process's output lines; `close` makes every later write of the process fail. */
function collect(stream: ReadableStream<Uint8Array>): Output {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const lines: string[] = [];
  const done = (async () => {
    let partial = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        const parts = (partial + value).split("\n");
        partial = parts.pop()!;
        lines.push(...parts.filter((l) => l.length > 0));
      }
    } catch {
      // Closed by the test.
    }
  })();
  return { lines, done, close: () => reader.cancel() };
}

interface Started {
  gw: FakeGateway;
  dir: string;
  /** What the test started: the wrapper (node), or the shell above it; it leads its own process group. */
  wrapper: Deno.ChildProcess;
  /** The wrapper (node). */
  wrapperPid: number;
  /** The Deno agent the wrapper started. */
  agentPid: number;
  /** The job's processes (the attempt's whole tree). */
  jobPids: number[];
  attemptId: string;
  out: Output;
  err: Output;
}

/** `node scripts/agent.mjs run` in a group of its own, connected, with a job tree running. */
async function startWrapped(opts: { via?: "sh" } = {}): Promise<Started> {
  const gw = new FakeGateway();
  const dir = await Deno.makeTempDir({ prefix: "lb-agent-wrapper-" });
  await writeIdentity(dir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  // `via: "sh"` puts a shell between the test and the wrapper, as `npm run` does; the
  // trailing `:` keeps sh from exec-ing node, so node really has sh as its parent.
  const [cmd, args] = opts.via === "sh"
    ? ["/bin/sh", ["-c", 'node "$0" run --state-dir "$1"; :', AGENT_MJS, dir]]
    : ["node", [AGENT_MJS, "run", "--state-dir", dir]];
  const leader = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped", detached: true }).spawn();
  const out = collect(leader.stdout);
  const err = collect(leader.stderr);
  await gw.waitFor("hello", () => true, 30_000);
  const assign = makeAssign(["sh", "-c", "sleep 300 & sleep 301"]);
  gw.send(assign);
  const jobPids = await until(async () => {
    const pids = await pidsOfAttempt(assign.attempt_id);
    return pids.length >= 3 ? pids : undefined;
  }, "job tree running");
  const procs = (await readProcs())!;
  const childOf = (ppid: number) => [...procs.values()].find((p) => p.ppid === ppid && p.state !== "Z")?.pid;
  const wrapperPid = opts.via === "sh" ? childOf(leader.pid)! : leader.pid;
  assert(wrapperPid, "wrapper (node) found under sh");
  const agentPid = childOf(wrapperPid)!;
  assert(agentPid, "agent (deno) found under the wrapper");
  assert(procs.get(agentPid)!.pgid !== leader.pid, "the agent leads a group of its own, apart from the wrapper's");
  for (const pid of [leader.pid, wrapperPid, agentPid, ...jobPids]) assert(await isAlive(pid), `pid ${pid} alive before the test ends it`);
  return { gw, dir, wrapper: leader, wrapperPid, agentPid, jobPids, attemptId: assign.attempt_id, out, err };
}

async function noneAlive(pids: number[]): Promise<boolean> {
  for (const pid of pids) if (await isAlive(pid)) return false;
  return true;
}

/** After the wrapper was ended: the agent did its graceful stop and nothing it started is left. */
async function assertAllGone(s: Started, signalName: string): Promise<void> {
  const { gw } = s;
  const all = [s.wrapperPid, s.agentPid, ...s.jobPids];
  await until(() => noneAlive(all), `agent and job pids gone after ${signalName}`, 20_000);
  const finished = gw.framesOf("attempt.finished").filter((f) => f.attempt_id === s.attemptId);
  assertEquals(finished.map((f) => f.error?.code), ["agent_stopped"], "the agent reported its attempt before going");
  await until(() => gw.conns[0]!.closeCode !== null || undefined, "close seen by the gateway");
  assertEquals(gw.conns[0]!.closeCode, 1000);
}

async function cleanup(s: Started): Promise<void> {
  // Only if a test failed is anything left: end it by the pids this test collected.
  for (const pid of [s.wrapperPid, s.agentPid, ...s.jobPids]) {
    try {
      if (await isAlive(pid)) Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  try {
    Deno.kill(-s.wrapper.pid, "SIGKILL");
  } catch { /* group gone */ }
  await s.wrapper.status;
  await s.out.done;
  await s.err.done;
  await s.gw.close();
  await Deno.remove(s.dir, { recursive: true });
}

Deno.test("SIGKILL of the wrapper's whole process group leaves no agent and no job process behind", async () => {
  const s = await startWrapped();
  try {
    Deno.kill(-s.wrapper.pid, "SIGKILL");
    assertEquals((await s.wrapper.status).signal, "SIGKILL");
    await assertAllGone(s, "SIGKILL of the group");
    const logs = s.out.lines.map((l) => JSON.parse(l));
    assert(logs.some((l) => l.msg === "wrapper process gone; stopping"), "stopped by its lifeline");
  } finally {
    await cleanup(s);
  }
});

for (const sig of ["SIGTERM", "SIGHUP"] as const) {
  Deno.test(`${sig} to the wrapper stops the agent cleanly and the wrapper exits 0 with it`, async () => {
    const s = await startWrapped();
    try {
      Deno.kill(s.wrapper.pid, sig);
      const status = await s.wrapper.status;
      assertEquals(status.code, 0, s.err.lines.join("\n"));
      await assertAllGone(s, sig);
      await s.out.done;
      const logs = s.out.lines.map((l) => JSON.parse(l));
      assertEquals(logs.filter((l) => l.msg === "stop signal received; stopping").map((l) => l.signal), [sig], "the signal reached the agent");
    } finally {
      await cleanup(s);
    }
  });
}

Deno.test("SIGHUP after the terminal is gone (every log write fails) still stops the agent cleanly", async () => {
  const s = await startWrapped();
  try {
    await s.out.close();
    await s.err.close();
    Deno.kill(s.wrapper.pid, "SIGHUP");
    await s.wrapper.status;
    await assertAllGone(s, "SIGHUP with no terminal");
  } finally {
    await cleanup(s);
  }
});

Deno.test("Ctrl+C in the terminal (SIGINT to the wrapper's group) reaches the agent once and it stops cleanly", async () => {
  const s = await startWrapped();
  try {
    Deno.kill(-s.wrapper.pid, "SIGINT");
    const status = await s.wrapper.status;
    assertEquals(status.code, 0, "0, not 130: the agent did not take it for a second press");
    await assertAllGone(s, "SIGINT");
    await s.out.done;
    const logs = s.out.lines.map((l) => JSON.parse(l));
    assertEquals(logs.filter((l) => l.msg === "stop signal received; stopping").map((l) => l.signal), ["SIGINT"]);
    assert(!logs.some((l) => l.msg === "second stop signal; exiting without waiting"));
  } finally {
    await cleanup(s);
  }
});

Deno.test("when whatever started the wrapper dies (npm, a shell), wrapper, agent and job go too", async () => {
  const s = await startWrapped({ via: "sh" });
  try {
    assert(s.wrapperPid !== s.wrapper.pid, "node runs under the shell");
    Deno.kill(s.wrapper.pid, "SIGKILL"); // the shell alone, as a SIGKILLed npm would be
    await assertAllGone(s, "death of the wrapper's parent");
    await until(async () => !(await isAlive(s.wrapperPid)) || undefined, "wrapper gone", 20_000);
  } finally {
    await cleanup(s);
  }
});

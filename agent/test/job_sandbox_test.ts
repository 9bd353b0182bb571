// Jobs are not trusted with the agent (DESIGN.md; docs/decisions/0009): a job must not
// read the credential or the state folder, inherit the agent's environment, or reach a
// concurrent attempt's folder; where the agent is root it runs as the job account. These
// tests run real jobs; as root (CI) they exercise the separate-account path.
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { writeIdentity } from "../src/runtime/agent_state.ts";
import { ATTEMPT_GID_BASE } from "../src/attempt/attempt_account.ts";
import { currentOs } from "../src/os/current.ts";
import { GPU_GROUPS, parsePasswd } from "../src/os/posix_accounts.ts";
import { exists, makeAssign, startAgent, withAgent } from "./helpers/agent_harness.ts";
import { collectLines, CONFIG, MAIN, permissionFlags, runCli } from "./helpers/cli.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { FakeStore } from "./helpers/fake_store.ts";
import { isAlive, pidsOfAttempt } from "./helpers/procs.ts";
import { until } from "./helpers/wait.ts";

const dec = new TextDecoder();

/** These tests need root, as CI has: jobs then run as a separate account, and accounts can be made. */
function requireRoot(): void {
  assertEquals(Deno.uid(), 0, "the job sandbox tests run as root (as CI does)");
}

/** The uploaded text of an attempt's output or log (`outputs/x`, `logs/stdout.log`). */
function uploaded(store: FakeStore, f: { attempt_id: string }, jobId: string, path: string): string {
  const put = store.puts.get(`jobs/${jobId}/${f.attempt_id}/${path}`);
  return put ? dec.decode(put.bytes) : "";
}

function everythingUploaded(store: FakeStore): string {
  return [...store.puts.values()].map((p) => dec.decode(p.bytes)).join("\n");
}

async function passwdEntry(name: string) {
  return parsePasswd(await Deno.readTextFile("/etc/passwd")).find((a) => a.name === name);
}

/** A state folder and its work folder as siblings in a temp folder anyone may list, as /var/lib is. */
async function labFolder(): Promise<{ parent: string; stateDir: string }> {
  const parent = await Deno.makeTempDir({ prefix: "lb-sandbox-" });
  await Deno.chmod(parent, 0o755);
  return { parent, stateDir: `${parent}/state` };
}

// The job an attacker would submit: walk up from the work folder, read the state folder,
// grep for the credential's prefix, dump its own environment and the agent's.
const HUNT = [
  'echo "== uid $(id -u)"',
  "cat ../../agent.json ../agent.json ../../state/agent.json 2>&1",
  'ls -la "$HUNT_STATE" 2>&1; cat "$HUNT_STATE"/* 2>&1',
  'grep -r lba_ "$HUNT_STATE" "$HUNT_PARENT" "$HUNT_WORK" 2>&1',
  'find "$HUNT_PARENT" -maxdepth 5 2>&1',
  'for f in /proc/$PPID/environ /proc/[0-9]*/environ; do cat "$f"; echo; done 2>/dev/null | tr "\\0" "\\n" | grep -a -e LB_SECRET_PLANTED -e lba_',
  'echo "== env"; env',
].join("\n");

Deno.test("a job hunting for the credential and the agent's environment finds neither, in its outputs or its logs", async () => {
  requireRoot();
  const gw = new FakeGateway();
  gw.credential = `lba_${crypto.randomUUID().replaceAll("-", "")}`;
  const secret = `planted-${crypto.randomUUID()}`;
  const store = new FakeStore();
  const { parent, stateDir } = await labFolder();
  await writeIdentity(stateDir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  // The real agent process, with a secret in its own environment (an admin's shell).
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--config", CONFIG, ...permissionFlags(), MAIN, "run", "--state-dir", stateDir],
    env: { LB_SECRET_PLANTED: secret, ADMIN_TOKEN: secret },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = collectLines(child.stdout);
  const err = collectLines(child.stderr);
  try {
    await gw.waitFor("hello", () => true, 30_000);
    const assign = makeAssign([
      "sh",
      "-c",
      `{
${HUNT}
} > "$LB_OUTPUT_DIR/loot.txt" 2>&1; cat "$LB_OUTPUT_DIR/loot.txt"`,
    ], {
      env: { HUNT_STATE: stateDir, HUNT_PARENT: parent, HUNT_WORK: `${stateDir}-work` },
    });
    gw.presign = store.presignFor(assign.job_id);
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id, 30_000);
    const loot = uploaded(store, f, assign.job_id, "outputs/loot.txt");
    // The hunt really ran and printed its environment: the checks below are not vacuous.
    assertMatch(loot, /== env\n/);
    assert(loot.includes(`LB_ATTEMPT_ID=${assign.attempt_id}`), loot);
    assertEquals(uploaded(store, f, assign.job_id, "logs/stdout.log"), loot);
    assert(!loot.includes("== uid 0\n"), "a root agent never runs a job as root");
    const all = everythingUploaded(store) + JSON.stringify(gw.frames);
    assert(!all.includes(gw.credential), "the credential reached the job's outputs, logs or frames");
    assert(!all.includes(secret), "the agent's environment reached the job");
    assert(!out.lines.some((l) => l.includes(gw.credential)), "credential never logged");
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
    await out.done;
    await err.done;
    await gw.close();
    await store.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("where the agent is root, jobs run as the job account with a group of their own, never as root", async () => {
  requireRoot();
  const name = `lbt${crypto.randomUUID().slice(0, 8)}`;
  const add = await new Deno.Command("useradd", {
    args: ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
    stdout: "null",
    stderr: "piped",
  })
    .output();
  assert(add.success, dec.decode(add.stderr));
  const gw = new FakeGateway();
  const store = new FakeStore();
  try {
    const account = (await passwdEntry(name))!;
    const agent = await startAgent(gw, {}, { jobUser: name });
    try {
      const assign = makeAssign(["sh", "-c", 'echo "$(id -u)|$(id -g)|$USER|$HOME|$TMPDIR|$(id -G)"; touch "$HOME/h" "$TMPDIR/t" "$LB_OUTPUT_DIR/o"']);
      gw.presign = store.presignFor(assign.job_id);
      await gw.waitFor("hello");
      gw.send(assign);
      const f = await gw.waitFor("attempt.finished");
      assertEquals(f.outcome, "succeeded", JSON.stringify(f));
      const stdout = uploaded(store, f, assign.job_id, "logs/stdout.log");
      const [uid, gid, user, home, tmp, groups] = stdout.trim().split("|");
      assertEquals(Number(uid), account.uid, stdout);
      assert(account.uid !== 0);
      assert(Number(gid) >= ATTEMPT_GID_BASE, `gid ${gid} is the attempt's own`);
      assertEquals(user, name);
      assertEquals(home, `${agent.workRoot}/${assign.attempt_id}/home`);
      assertEquals(tmp, `${agent.workRoot}/${assign.attempt_id}/tmp`);
      assert(agent.logs.some((l) => l.msg === "jobs run as a separate account" && l.job_user === name));
      // The account's own group and the GPU group travel with it (through setpriv; README).
      assert(await exists("/usr/bin/setpriv"), "setpriv (util-linux) is installed here");
      // video and render where this machine has them (render comes with Mesa/udev, e.g. when
      // a browser is installed for the dashboard's tests).
      const etcGroup = await Deno.readTextFile("/etc/group");
      const gpuGroups = GPU_GROUPS.flatMap((g) => new RegExp(`^${g}:x:(\\d+):`, "m").exec(etcGroup)?.[1] ?? []);
      assertEquals(groups!.split(" ").sort(), [gid!, String(account.gid), ...gpuGroups].sort());
    } finally {
      await agent.dispose();
    }
  } finally {
    await gw.close();
    await store.close();
    await new Deno.Command("userdel", { args: [name], stdout: "null", stderr: "null" }).output();
  }
});

Deno.test("a missing job account falls back to nobody with a warning", async () => {
  requireRoot();
  const gw = new FakeGateway();
  const store = new FakeStore();
  const missing = `lb-none-${crypto.randomUUID().slice(0, 8)}`;
  const agent = await startAgent(gw, {}, { jobUser: missing });
  try {
    const warning = await agent.waitLog(
      `job account "${missing}" does not exist; jobs run as "nobody" (create "${missing}" so jobs do not share an account with other services)`,
    );
    assertEquals(warning.level, "warn");
    const assign = makeAssign(["id", "-u"]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(uploaded(store, f, assign.job_id, "logs/stdout.log").trim(), String((await passwdEntry("nobody"))!.uid));
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
});

Deno.test("run refuses a job account with uid 0, whatever it is called", async () => {
  requireRoot();
  const gw = new FakeGateway();
  const { parent, stateDir } = await labFolder();
  try {
    await writeIdentity(stateDir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
    const r = await runCli(["run", "--state-dir", stateDir, "--job-user", "root"]);
    assertEquals(r.code, 1);
    assertMatch(r.stdout, /cannot run jobs: job account \\"root\\" has uid 0: jobs never run as root/);
    assertEquals(gw.framesOf("hello"), [], "no agent came up");
  } finally {
    await gw.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("one attempt cannot list the work folder or enter a concurrent attempt's folder", async () => {
  requireRoot();
  await withAgent(async ({ gw, store, agent }) => {
    await gw.waitFor("hello");
    const secret = `other-attempt-${crypto.randomUUID()}`;
    const first = makeAssign(["sh", "-c", `echo ${secret} > "$LB_OUTPUT_DIR/secret.txt"; echo ${secret} > "$HOME/secret.txt"; sleep 60`]);
    gw.send(first);
    const firstDir = `${agent.workRoot}/${first.attempt_id}`;
    await until(() => exists(`${firstDir}/home/secret.txt`), "first attempt's secret written");
    const pid = JSON.parse(await Deno.readTextFile(`${firstDir}/process.json`)).pid as number;

    const second = makeAssign([
      "sh",
      "-c",
      [
        'cat "$OTHER/outputs/secret.txt" "$OTHER/home/secret.txt" 2>&1',
        'ls "$OTHER" "$WORK" 2>&1',
        `cat /proc/${pid}/environ 2>&1 | tr "\\0" "\\n"`,
        `ls -l /proc/${pid}/cwd/ 2>&1`,
        'echo "== done"',
      ].join("\n"),
    ], { env: { OTHER: firstDir, WORK: agent.workRoot } });
    gw.presign = store.presignFor(second.job_id);
    gw.send(second);
    const f = await gw.waitFor("attempt.finished", (m) => m.attempt_id === second.attempt_id);
    const seen = uploaded(store, f, second.job_id, "logs/stdout.log");
    assertMatch(seen, /== done/);
    assert(!seen.includes(secret), `the second attempt read the first one's files:\n${seen}`);
    assert(!seen.includes(first.attempt_id + "\n") && !seen.includes(`LB_ATTEMPT_ID=${first.attempt_id}`), seen);
    {
      assertMatch(seen, /Permission denied/);
      const st = await Deno.stat(firstDir);
      assertEquals(st.mode! & 0o7777, 0o1770, "agent-owned, group-private, sticky");
      assertEquals(st.uid, 0);
      assert(st.gid! >= ATTEMPT_GID_BASE);
      assertEquals((await Deno.stat(agent.workRoot)).mode! & 0o777, 0o711, "the work folder cannot be listed");
      assertEquals((await Deno.stat(`${firstDir}/logs`)).mode! & 0o777, 0o750, "the job cannot swap its logs");
    }
    assertEquals((await Deno.stat(agent.stateDir)).mode! & 0o777, 0o700);
    gw.send({ type: "attempt.cancel", attempt_id: first.attempt_id, reason: "canceled" });
    await gw.waitFor("attempt.finished", (m) => m.attempt_id === first.attempt_id);
    await until(async () => !(await exists(firstDir)), "the first attempt's folder is removed after its report");
  });
});

Deno.test("--pass-env passes exactly the named variables; nothing else of the agent's environment reaches the job", async () => {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agentEnv = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    CUDA_VISIBLE_DEVICES: "0",
    NVIDIA_DRIVER_CAPABILITIES: "compute,utility",
    HF_HOME: "/srv/hf",
    WANDB_MODE: "offline",
    LB_ADMIN_TOKEN: "lbt_admin_secret",
    AWS_SECRET_ACCESS_KEY: "aws-secret",
    HOME: "/root",
    SHELL: "/bin/bash",
  };
  const agent = await startAgent(gw, {}, { agentEnv, passEnv: ["HF_HOME", "WANDB_MODE", "NOT_SET_ANYWHERE"] });
  try {
    const warning = await agent.waitLog("--pass-env names variables the agent's environment does not hold");
    assertEquals(warning.missing, ["NOT_SET_ANYWHERE"]);
    // `env` itself, not a shell: a shell would add PWD, SHLVL and `_`.
    const assign = makeAssign(["env"], { env: { MY_VAR: "from-job", HF_HOME: "/job/choice" } });
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "succeeded");
    const env = Object.fromEntries(
      uploaded(store, f, assign.job_id, "logs/stdout.log").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const dir = `${agent.workRoot}/${assign.attempt_id}`;
    const expected: Record<string, string> = {
      PATH: agentEnv.PATH,
      LANG: "C.UTF-8",
      LC_ALL: "C.UTF-8",
      CUDA_VISIBLE_DEVICES: "0",
      NVIDIA_DRIVER_CAPABILITIES: "compute,utility",
      HF_HOME: "/job/choice",
      WANDB_MODE: "offline",
      HOME: `${dir}/home`,
      TMPDIR: `${dir}/tmp`,
      TMP: `${dir}/tmp`,
      TEMP: `${dir}/tmp`,
      MY_VAR: "from-job",
      LB_JOB_ID: assign.job_id,
      LB_ATTEMPT_ID: assign.attempt_id,
      LB_INPUT_DIR: `${dir}/inputs`,
      LB_OUTPUT_DIR: `${dir}/outputs`,
    };
    {
      const user = agent.logs.find((l) => l.msg === "jobs run as a separate account")!.job_user as string;
      expected.USER = user;
      expected.LOGNAME = user;
    }
    assertEquals(env, expected);
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
});

Deno.test("a program is looked up on the job's PATH with the job's rights: a folder only root may enter is passed over", async () => {
  requireRoot();
  const gw = new FakeGateway();
  const store = new FakeStore();
  const { parent } = await labFolder();
  const agent = await startAgent(gw);
  try {
    for (const [dir, mode] of [["root-only", 0o700], ["public", 0o755]] as const) {
      await Deno.mkdir(`${parent}/${dir}`, { mode });
      await Deno.chmod(`${parent}/${dir}`, mode);
      await Deno.writeTextFile(`${parent}/${dir}/lbprobe`, `#!/bin/sh\necho ${dir}\n`, { mode: 0o755 });
      await Deno.chmod(`${parent}/${dir}/lbprobe`, 0o755);
    }
    const assign = makeAssign(["lbprobe"], { env: { PATH: `${parent}/root-only:${parent}/public:/usr/bin:/bin` } });
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "succeeded", JSON.stringify(f.error));
    assertEquals(uploaded(store, f, assign.job_id, "logs/stdout.log"), "public\n");

    const hidden = makeAssign(["lbprobe"], { env: { PATH: `${parent}/root-only:/usr/bin:/bin` } });
    gw.send(hidden);
    const g = await gw.waitFor("attempt.finished", (m) => m.attempt_id === hidden.attempt_id);
    assertEquals(g.error?.code, "spawn_failed");
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("status of an agent that is not root says plainly that jobs can read its credential", async () => {
  requireRoot();
  const gw = new FakeGateway();
  const { parent, stateDir } = await labFolder();
  try {
    await writeIdentity(stateDir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
    await Deno.mkdir(`${parent}/deno-dir`);
    const nobody = (await passwdEntry("nobody"))!;
    for (const p of [stateDir, `${stateDir}/agent.json`, `${parent}/deno-dir`]) await Deno.chown(p, nobody.uid, nobody.gid);
    // The real CLI, run as an unprivileged user (as a developer would run it).
    const out = await new Deno.Command("setpriv", {
      args: [
        `--reuid=${nobody.uid}`,
        `--regid=${nobody.gid}`,
        "--clear-groups",
        "--",
        Deno.execPath(),
        "run",
        "--quiet",
        "--config",
        CONFIG,
        ...permissionFlags(),
        MAIN,
        "status",
        "--state-dir",
        stateDir,
      ],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", HOME: parent, DENO_DIR: `${parent}/deno-dir` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, dec.decode(out.stderr));
    const status = JSON.parse(dec.decode(out.stdout));
    assertEquals(status.jobs.separate_account, false);
    assertMatch(status.jobs.warnings[0], /^jobs can read this agent's credential: the agent does not run as root/);
    assert(!dec.decode(out.stdout).includes(gw.credential));
  } finally {
    await gw.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("run closes a widened state folder again and sweeps the work folders an older agent left inside it", async () => {
  const gw = new FakeGateway();
  const { parent, stateDir } = await labFolder();
  await writeIdentity(stateDir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  // As an agent before 0009 left it: job folders inside, opened up for them.
  const legacy = `${stateDir}/work/att_01M8OLDOLDOLDOLDOLDOLDOLDO`;
  await Deno.mkdir(`${legacy}/outputs`, { recursive: true });
  await Deno.chmod(stateDir, 0o755);
  await Deno.chmod(`${stateDir}/agent.json`, 0o644);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--config", CONFIG, ...permissionFlags(), MAIN, "run", "--state-dir", stateDir],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = collectLines(child.stdout);
  const err = collectLines(child.stderr);
  try {
    await gw.waitFor("hello", () => true, 30_000);
    assertEquals((await Deno.stat(stateDir)).mode! & 0o777, 0o700);
    assertEquals((await Deno.stat(`${stateDir}/agent.json`)).mode! & 0o777, 0o600);
    assert(!(await exists(legacy)), "the old work folder was swept");
    assert(out.lines.some((l) => l.includes("removed a work folder left by a previous agent process")));
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
    await out.done;
    await err.done;
    await gw.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("enroll refuses a work folder inside the state folder", async () => {
  const { parent, stateDir } = await labFolder();
  try {
    const r = await runCli(["enroll", "--server", "ws://127.0.0.1:9", "--token", "lbe_x", "--state-dir", stateDir, "--work-dir", `${stateDir}/work`]);
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /is inside the state folder/);
    assert(!(await exists(`${stateDir}/agent.json`)));
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("a process that left the job's session and process group is ended with the job: it still holds the attempt's gid", async () => {
  requireRoot();
  await withAgent(async ({ gw, store, agent }) => {
    // setsid: own session and group, so neither the group kill nor (once the job exited)
    // the parent links reach it. Only the attempt's gid still says whose it is.
    const assign = makeAssign([
      "sh",
      "-c",
      `setsid sh -c 'echo $$ > "$LB_OUTPUT_DIR/escaped.pid"; exec sleep 300' & while [ ! -s "$LB_OUTPUT_DIR/escaped.pid" ]; do sleep 0.05; done`,
    ]);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "succeeded");
    const pid = Number(uploaded(store, f, assign.job_id, "outputs/escaped.pid").trim());
    assert(pid > 0, "the escaped process wrote its pid");
    assertEquals(await pidsOfAttempt(assign.attempt_id), [], "nothing of the attempt is left running");
    assert(!(await isAlive(pid)), `escaped pid ${pid} still runs`);
  });
});

Deno.test("after an agent crash, the next run also ends what left the crashed job's group, by the attempt's gid", async () => {
  requireRoot();
  const gw = new FakeGateway();
  const { parent, stateDir } = await labFolder();
  await writeIdentity(stateDir, { servers: [gw.url], agent_id: gw.agentId, credential: gw.credential, name: "t" }, currentOs());
  const spawnRun = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--config", CONFIG, ...permissionFlags(), MAIN, "run", "--state-dir", stateDir],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  let child = spawnRun();
  try {
    await gw.waitFor("hello", () => true, 30_000);
    const assign = makeAssign(["sh", "-c", `setsid sh -c 'echo $$ > "$LB_OUTPUT_DIR/escaped.pid"; exec sleep 300' & sleep 300`]);
    gw.send(assign);
    const escapedFile = `${stateDir}-work/${assign.attempt_id}/outputs/escaped.pid`;
    const escaped = await until(async () => Number((await Deno.readTextFile(escapedFile).catch(() => "")).trim()) || undefined, "escaped pid");
    await until(() => exists(`${stateDir}-work/${assign.attempt_id}/process.json`), "process.json written");
    child.kill("SIGKILL"); // the agent dies; the job and its escaped child keep running
    await child.status;
    assert(await isAlive(escaped), "the escaped process outlives the agent");

    child = spawnRun();
    await gw.waitFor("hello", () => true, 30_000, 1);
    assertEquals(await pidsOfAttempt(assign.attempt_id), [], "nothing of the crashed attempt is left");
    assert(!(await isAlive(escaped)), `escaped pid ${escaped} still runs`);
    assert(!(await exists(`${stateDir}-work/${assign.attempt_id}`)));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await gw.close();
    await Deno.remove(parent, { recursive: true });
  }
});

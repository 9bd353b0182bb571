// The Linux service seam for real: useradd, a root-only state folder, the systemd host with
// systemd absent (this machine) and present (a recording systemctl), and `service install`.
import { serviceCommand } from "../src/cli/service_command.ts";
import { linuxServiceSeam, noLoginShell } from "../src/os/linux_service.ts";
import { runCommandLine } from "../src/service/command_runner.ts";
import { serviceDefinition } from "../src/service/service_definition.ts";
import { systemdHost } from "../src/service/systemd_host.ts";
import { parseSystemdUnit, splitExecStart } from "../src/service/systemd_unit.ts";
import { parsePasswd } from "../src/os/posix_accounts.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { recordingRunner } from "./helpers/recording_runner.ts";

const seam = linuxServiceSeam({ run: runCommandLine, systemdRunning: () => false });

function requireRoot() {
  assert(Deno.uid() === 0, "these tests create OS accounts and chown folders: run them as root (CI does)");
}

async function passwdHas(name: string) {
  return parsePasswd(await Deno.readTextFile("/etc/passwd")).find((a) => a.name === name) ?? null;
}

async function userdel(name: string) {
  await new Deno.Command("userdel", { args: [name], stdout: "null", stderr: "null" }).output();
}

Deno.test("service install's job account step creates a system account with no login shell, and a second run keeps it", async () => {
  requireRoot();
  const name = `lbs${crypto.randomUUID().slice(0, 8)}`;
  try {
    assertEquals(await seam.ensureJobAccount(name, "/unused"), [`created job account "${name}"`]);
    const account = await passwdHas(name);
    assert(account, "the account exists");
    assert(account.uid !== 0 && account.uid < 1000, `a system uid: ${account.uid}`);
    const line = (await Deno.readTextFile("/etc/passwd")).split("\n").find((l) => l.startsWith(`${name}:`))!;
    assertEquals(line.split(":")[6], noLoginShell((p) => Deno.statSync(p).isFile === true));
    assertEquals(await seam.ensureJobAccount(name, "/unused"), [`job account "${name}" exists (uid ${account.uid})`]);
  } finally {
    await userdel(name);
  }
});

Deno.test("service install refuses a job account with uid 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/passwd`, "toor:x:0:0::/root:/bin/sh\n");
    const s = linuxServiceSeam({ run: runCommandLine, passwdPath: `${dir}/passwd` });
    const err = await s.ensureJobAccount("toor", dir).then(() => null, (e) => e as Error);
    assertEquals(err?.message, 'Job account "toor" has uid 0: jobs never run as root');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the state folder is made root's and 0700, and a folder open to others is named as a problem", async () => {
  requireRoot();
  const parent = await Deno.makeTempDir();
  const dir = `${parent}/state`;
  try {
    await Deno.mkdir(dir, { mode: 0o755 });
    await Deno.chmod(dir, 0o755);
    assertEquals(await seam.stateFolderProblem(dir), `"${dir}" has mode 0755: group and others can reach the credential`);
    await seam.restrictStateFolder(dir);
    const st = await Deno.stat(dir);
    assertEquals([st.uid, (st.mode ?? 0) & 0o777], [0, 0o700]);
    assertEquals(await seam.stateFolderProblem(dir), null);
    await Deno.chown(dir, 65534, null);
    assertEquals(await seam.stateFolderProblem(dir), `"${dir}" is owned by uid 65534, not root`);
    assertEquals(await seam.stateFolderProblem(`${parent}/none`), `"${parent}/none" does not exist`);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("without systemd, install writes no unit and prints it instead; status says systemd is not running", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const host = systemdHost(serviceDefinition("/usr/local/bin/labbridge-agent", "/var/lib/labbridge"), {
      run: runCommandLine,
      unitDir: dir,
      systemdRunning: () => false,
    });
    const lines = await host.install();
    assertEquals(lines[0], `systemd is not running here: "${dir}/labbridge-agent.service" not written; the unit follows`);
    assertEquals(parseSystemdUnit(lines[1]!).Service!.User, ["root"]);
    assertEquals([...Deno.readDirSync(dir)], []);
    assertEquals(await host.status(), { installed: false, running: false, detail: "systemd is not running on this machine" });
    const err = await host.start().then(() => null, (e) => (e as Error).message);
    assertEquals(err, 'Cannot start "labbridge-agent.service": systemd is not running on this machine');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with systemd, install writes the unit, reloads and enables it; start, stop, status and uninstall drive systemctl", async () => {
  const dir = await Deno.makeTempDir();
  const rec = recordingRunner((c) => c.args[0] === "is-active" ? { code: 0, stdout: "active\n" } : undefined);
  try {
    const host = systemdHost(serviceDefinition("/usr/local/bin/labbridge-agent", "/var/lib/labbridge"), {
      run: rec.run,
      unitDir: dir,
      systemdRunning: () => true,
    });
    assertEquals(await host.install(), [`wrote "${dir}/labbridge-agent.service"`, 'enabled "labbridge-agent.service"']);
    const unit = parseSystemdUnit(await Deno.readTextFile(`${dir}/labbridge-agent.service`));
    assertEquals(splitExecStart(unit.Service!.ExecStart![0]!), ["/usr/local/bin/labbridge-agent", "run", "--state-dir", "/var/lib/labbridge"]);
    assertEquals(((await Deno.stat(`${dir}/labbridge-agent.service`)).mode ?? 0) & 0o777, 0o644);
    await host.start();
    await host.stop();
    assertEquals(await host.status(), { installed: true, running: true, detail: "active" });
    await host.uninstall();
    assertEquals(await Deno.stat(`${dir}/labbridge-agent.service`).then(() => true, () => false), false);
    assertEquals(rec.calls.map((c) => [c.program, ...c.args].join(" ")), [
      "systemctl daemon-reload",
      "systemctl enable labbridge-agent.service",
      "systemctl start labbridge-agent.service",
      "systemctl stop labbridge-agent.service",
      "systemctl is-active labbridge-agent.service",
      "systemctl disable --now labbridge-agent.service",
      "systemctl daemon-reload",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`service install` makes the state folder, the job account and the unit, in that order, and says what comes next", async () => {
  requireRoot();
  const parent = await Deno.makeTempDir();
  const name = `lbs${crypto.randomUUID().slice(0, 8)}`;
  const lines: string[] = [];
  try {
    const s = linuxServiceSeam({ run: runCommandLine, unitDir: `${parent}/units`, systemdRunning: () => false });
    const code = await serviceCommand(
      { action: "install", stateDir: `${parent}/state`, jobUser: name, platform: null },
      { seam: s, execPath: "/usr/local/bin/labbridge-agent", print: (l) => lines.push(l) },
    );
    assertEquals(code, 0, lines.join("\n"));
    assertEquals(lines[0], `"${parent}/state" is root's, mode 0700`);
    assertEquals(lines[1], `created job account "${name}"`);
    assert(lines[2]!.startsWith("systemd is not running here"), lines[2]);
    const unit = parseSystemdUnit(lines[3]!);
    assertEquals(splitExecStart(unit.Service!.ExecStart![0]!), ["/usr/local/bin/labbridge-agent", "run", "--state-dir", `${parent}/state`]);
    assert(lines[4]!.startsWith("next: labbridge-agent enroll"), lines[4]);
    assert(await passwdHas(name));
  } finally {
    await userdel(name);
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("`service install` refuses to register deno itself, and a non-root caller", async () => {
  const lines: string[] = [];
  const asRoot = { ...seam, isElevated: () => Promise.resolve(true) };
  assertEquals(
    await serviceCommand({ action: "install", stateDir: "/tmp/x", jobUser: null, platform: null }, {
      seam: asRoot,
      execPath: "/usr/bin/deno",
      print: (l) => lines.push(l),
    }),
    1,
  );
  assertEquals(lines, ['error: service install must be run from the compiled agent (labbridge-agent), not from deno at "/usr/bin/deno"']);
  const notRoot = { ...seam, isElevated: () => Promise.resolve(false) };
  lines.length = 0;
  assertEquals(
    await serviceCommand({ action: "start", stateDir: null, jobUser: null, platform: null }, {
      seam: notRoot,
      execPath: "/x/labbridge-agent",
      print: (l) => lines.push(l),
    }),
    1,
  );
  assertEquals(lines, ["error: service start needs root (sudo)"]);
});

Deno.test("`service status` prints one JSON line and exits 1 when the service is not running", async () => {
  const lines: string[] = [];
  const code = await serviceCommand({ action: "status", stateDir: null, jobUser: null, platform: null }, {
    seam,
    execPath: "/x/labbridge-agent",
    print: (l) => lines.push(l),
  });
  assertEquals(code, 1);
  assertEquals(JSON.parse(lines[0]!), {
    service: "labbridge-agent",
    host: "systemd",
    definition: "/etc/systemd/system/labbridge-agent.service",
    installed: false,
    running: false,
    detail: "systemd is not running on this machine",
  });
});

Deno.test("`service start` of a folder that is not enrolled says to enroll first and starts nothing", async () => {
  const dir = await Deno.makeTempDir();
  const rec = recordingRunner();
  const lines: string[] = [];
  try {
    const s = { ...linuxServiceSeam({ run: rec.run, systemdRunning: () => true }), isElevated: () => Promise.resolve(true) };
    assertEquals(
      await serviceCommand({ action: "start", stateDir: dir, jobUser: null, platform: null }, {
        seam: s,
        execPath: "/x/labbridge-agent",
        print: (l) => lines.push(l),
      }),
      1,
    );
    assertEquals(lines, [`error: "${dir}" is not enrolled: labbridge-agent enroll --server wss://… --token lbe_… --state-dir "${dir}" first (or pass the service's own --state-dir)`]);
    assertEquals(rec.calls, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

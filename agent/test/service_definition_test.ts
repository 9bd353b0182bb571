// The generated service definitions (WinSW XML, systemd unit), read back with real parsers.
import { maxStopMs } from "../src/agent.ts";
import { DEFAULT_TIMINGS } from "../src/runtime/timings.ts";
import { DEFAULT_SERVICE_STATE_DIR, serviceDefinition, serviceStopTimeoutSec } from "../src/service/service_definition.ts";
import { parseSystemdUnit, splitExecStart, systemdUnit } from "../src/service/systemd_unit.ts";
import { winswXml } from "../src/service/winsw_xml.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { parseXml } from "./helpers/xml.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const windowsDef = serviceDefinition("%BASE%\\labbridge-agent.exe", DEFAULT_SERVICE_STATE_DIR.windows);

Deno.test("WinSW XML: runs the agent with run --state-dir %ProgramData%\\LabBridge, as id labbridge-agent", () => {
  const svc = parseXml(winswXml(windowsDef)).service as Any;
  assertEquals(svc.id, "labbridge-agent");
  assertEquals(svc.executable, "%BASE%\\labbridge-agent.exe");
  assertEquals(svc.arguments, "run --state-dir %ProgramData%\\LabBridge");
  assertEquals(svc.workingdirectory, "%ProgramData%\\LabBridge");
});

Deno.test("WinSW XML: delayed automatic start, restart on failure with growing delays, failure count reset after an hour", () => {
  const svc = parseXml(winswXml(windowsDef)).service as Any;
  assertEquals(svc.startmode, "Automatic");
  assertEquals(svc.delayedAutoStart, "true");
  const delays = (svc.onfailure as Any[]).map((f) => {
    assertEquals(f["@_action"], "restart");
    const [n, unit] = String(f["@_delay"]).split(" ");
    return Number(n) * ({ sec: 1, min: 60 } as Record<string, number>)[unit!]!;
  });
  assertEquals(delays, [10, 60, 600]);
  assertEquals(svc.resetfailure, "1 hour");
});

Deno.test("WinSW XML: the stop timeout outlasts the agent's longest stop, and logs roll by size under the state folder", () => {
  const svc = parseXml(winswXml(windowsDef)).service as Any;
  const m = /^(\d+) sec$/.exec(svc.stoptimeout);
  assert(m, `stoptimeout "${svc.stoptimeout}" is in seconds`);
  assert(Number(m[1]) * 1000 >= maxStopMs(DEFAULT_TIMINGS) + 5_000, `stoptimeout ${m[1]} s after a ${maxStopMs(DEFAULT_TIMINGS)} ms stop`);
  assertEquals(Number(m[1]), serviceStopTimeoutSec());
  assertEquals(svc.log["@_mode"], "roll-by-size");
  assertEquals(svc.log.sizeThreshold, "10240");
  assertEquals(svc.log.keepFiles, "8");
  assertEquals(svc.logpath, "%ProgramData%\\LabBridge\\logs");
  assertEquals(svc.serviceaccount, undefined, "LocalSystem: no service account");
});

Deno.test("WinSW XML: a state folder with spaces, & and quotes stays well-formed and is quoted as one argument", () => {
  const svc = parseXml(winswXml(serviceDefinition("%BASE%\\labbridge-agent.exe", 'D:\\Lab & "GPU" data\\'))).service as Any;
  assertEquals(svc.arguments, 'run --state-dir "D:\\Lab & \\"GPU\\" data"');
  assertEquals(svc.workingdirectory, 'D:\\Lab & "GPU" data');
});

Deno.test("the checked-in winsw/labbridge-agent.xml is the generator's output", async () => {
  const file = await Deno.readTextFile(new URL("../winsw/labbridge-agent.xml", import.meta.url));
  assertEquals(file, winswXml(windowsDef), "regenerate it: node scripts/agent.mjs service print --platform windows > agent/winsw/labbridge-agent.xml");
});

Deno.test("systemd unit: root, restart on failure with growing delays, SIGTERM to the agent only, stop timeout past the agent's longest stop", () => {
  const unit = parseSystemdUnit(systemdUnit(serviceDefinition("/usr/local/bin/labbridge-agent", "/var/lib/labbridge")));
  const svc = unit.Service!;
  assertEquals(svc.User, ["root"]);
  assertEquals(svc.Restart, ["on-failure"]);
  assertEquals(svc.RestartSec, ["10s"]);
  assertEquals(svc.RestartSteps, ["5"]);
  assertEquals(svc.RestartMaxDelaySec, ["10min"]);
  assertEquals(svc.KillMode, ["mixed"]);
  assertEquals(svc.KillSignal, ["SIGTERM"]);
  const stop = Number(/^(\d+)s$/.exec(svc.TimeoutStopSec![0]!)![1]);
  assert(stop * 1000 >= maxStopMs(DEFAULT_TIMINGS) + 5_000, `TimeoutStopSec ${stop}`);
  assertEquals(splitExecStart(svc.ExecStart![0]!), ["/usr/local/bin/labbridge-agent", "run", "--state-dir", "/var/lib/labbridge"]);
  assertEquals(unit.Unit!.StartLimitIntervalSec, ["0"]);
  assert(unit.Unit!.After![0]!.split(" ").includes("network-online.target"));
  assertEquals(unit.Install!.WantedBy, ["multi-user.target"]);
});

Deno.test("systemd unit: ExecStart keeps a state folder with spaces, quotes and % as one word", () => {
  const dir = '/srv/lab data/"gpu" 100%';
  const unit = parseSystemdUnit(systemdUnit(serviceDefinition("/opt/lab bridge/labbridge-agent", dir)));
  assertEquals(splitExecStart(unit.Service!.ExecStart![0]!), ["/opt/lab bridge/labbridge-agent", "run", "--state-dir", dir]);
});

Deno.test("systemd unit parser refuses a line outside a section or without a key", () => {
  let threw = 0;
  for (const bad of ["User=root\n", "[Service]\n=x\n", "[Service]\nnot a setting\n"]) {
    try {
      parseSystemdUnit(bad);
    } catch {
      threw++;
    }
  }
  assertEquals(threw, 3);
});

Deno.test("systemd unit: systemd-analyze verify accepts it (only the RestartSteps keys are unknown to systemd before 254)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lb-unit-" });
  try {
    // verify checks that ExecStart's program exists: this test's own deno stands in for the agent.
    const path = `${dir}/labbridge-agent.service`;
    await Deno.writeTextFile(path, systemdUnit(serviceDefinition(Deno.execPath(), "/var/lib/labbridge")));
    const out = await new Deno.Command("systemd-analyze", { args: ["verify", path], stdout: "piped", stderr: "piped" }).output().catch(() => null);
    assert(out, "systemd-analyze (the systemd package) is installed here");
    const complaints = new TextDecoder().decode(out.stderr).split("\n").filter((l) => l.trim() !== "");
    const version = Number(
      /systemd (\d+)/.exec(new TextDecoder().decode((await new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "piped" }).output()).stdout))
        ?.[1],
    );
    const expected = version >= 254 ? [] : ["RestartSteps", "RestartMaxDelaySec"];
    assertEquals(complaints.map((l) => /Unknown key '(\w+)'/.exec(l)?.[1] ?? l), expected);
    assertEquals(out.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

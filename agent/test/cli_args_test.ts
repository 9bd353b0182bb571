import { parseCliArgs, parseLabels, parsePassEnv, parseServerList, UsageError } from "../src/cli/cli_args.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";

const NO_JOB_FLAGS = { workDir: null, jobUser: null, passEnv: null };
const NO_PROXY_FLAGS = { proxy: null, noProxy: null };
const LOG_FILE = { maxBytes: 10 * 1024 * 1024, keep: 5 };
const NO_RUN_EXTRAS = { yieldFlags: {}, controlPort: null, logFile: LOG_FILE };

Deno.test("cli: enroll with all flags, both --flag value and --flag=value", () => {
  assertEquals(parseCliArgs(["enroll", "--server", "ws://127.0.0.1:8081", "--token=lbe_x", "--state-dir", "/tmp/a", "--name", "n", "--labels", "k=v,k2=v2"]), {
    command: "enroll",
    servers: ["ws://127.0.0.1:8081"],
    token: "lbe_x",
    stateDir: "/tmp/a",
    name: "n",
    labels: { k: "v", k2: "v2" },
    jobs: NO_JOB_FLAGS,
    proxy: NO_PROXY_FLAGS,
  });
  assertEquals(parseCliArgs(["enroll", "--server", "wss://g", "--token", "t", "--state-dir", "d"]), {
    command: "enroll",
    servers: ["wss://g"],
    token: "t",
    stateDir: "d",
    name: null,
    labels: {},
    jobs: NO_JOB_FLAGS,
    proxy: NO_PROXY_FLAGS,
  });
});

Deno.test("cli: run and status", () => {
  assertEquals(parseCliArgs(["run", "--state-dir", "/tmp/a"]), { command: "run", stateDir: "/tmp/a", servers: null, jobs: NO_JOB_FLAGS, proxy: NO_PROXY_FLAGS, ...NO_RUN_EXTRAS });
  assertEquals(parseCliArgs(["status", "--state-dir=C:\\ProgramData\\LabBridge"]), { command: "status", stateDir: "C:\\ProgramData\\LabBridge" });
  assertEquals(parseCliArgs(["--help"]), { command: "help" });
});

Deno.test("cli: logs takes --lines and -f/--follow; run takes the log file's size and how many old files to keep", () => {
  assertEquals(parseCliArgs(["logs", "--state-dir", "d"]), { command: "logs", stateDir: "d", lines: 50, follow: false });
  assertEquals(parseCliArgs(["logs", "-f", "--state-dir", "d", "--lines", "200"]), { command: "logs", stateDir: "d", lines: 200, follow: true });
  assertEquals(parseCliArgs(["logs", "--follow", "--lines=0", "--state-dir=d"]), { command: "logs", stateDir: "d", lines: 0, follow: true });
  const run = parseCliArgs(["run", "--state-dir", "d", "--log-max-mb", "2", "--log-keep", "9"]);
  assertEquals(run.command === "run" ? run.logFile : null, { maxBytes: 2 * 1024 * 1024, keep: 9 });
  const cases: [string[], string][] = [
    [["logs", "--state-dir", "d", "--lines", "-3"], '--lines "-3" must be a whole number from 0 to 1000000'],
    [["logs", "--state-dir", "d", "--lines", "ten"], '--lines "ten" must be a whole number'],
    [["logs", "--state-dir", "d", "-f", "--follow"], "--follow is given twice"],
    [["logs", "--state-dir", "d", "--follow=yes"], "--follow takes no value"],
    [["run", "--state-dir", "d", "-f"], "unknown flag --follow for run"],
    [["run", "--state-dir", "d", "--log-keep", "0"], '--log-keep "0" must be a whole number from 1 to 100'],
    [["run", "--state-dir", "d", "--log-max-mb", "1.5"], '--log-max-mb "1.5" must be a whole number from 1 to 1024'],
    [["logs"], "missing --state-dir"],
  ];
  for (const [argv, message] of cases) assertThrows(() => parseCliArgs(argv), UsageError, message);
});

Deno.test("cli: mistakes are usage errors", () => {
  const cases: [string[], string][] = [
    [[], "missing command"],
    [["start"], 'unknown command "start"'],
    [["run"], "missing --state-dir"],
    [["run", "--state-dir"], "--state-dir needs a value"],
    [["run", "--state-dir", "--verbose"], "--state-dir needs a value"],
    [["run", "--state-dir", "a", "--token", "t"], "unknown flag --token for run"],
    [["run", "--state-dir", "a", "--state-dir", "b"], "--state-dir is given twice"],
    [["run", "stray"], 'unexpected argument "stray"'],
    [["enroll", "--server", "ws://x", "--state-dir", "d"], "missing --token (or LB_ENROLL_TOKEN"],
    [["enroll", "--server", "ws://x", "--token", "", "--state-dir", "d"], "--token must not be empty"],
    [["enroll", "--server", "ws://a,ftp://b", "--token", "t", "--state-dir", "d"], '--server "ftp://b" must start with ws://'],
    [["run", "--state-dir", "d", "--server", "ws://a,ws://a"], '--server "ws://a" is given twice'],
    [["run", "--state-dir", "d", "--server", ""], "--server must not be empty"],
  ];
  for (const [argv, message] of cases) assertThrows(() => parseCliArgs(argv), UsageError, message);
});

Deno.test("enroll takes the token from LB_ENROLL_TOKEN when --token is absent, so npm never echoes it", () => {
  const cmd = parseCliArgs(["enroll", "--server", "ws://x", "--state-dir", "d"], { LB_ENROLL_TOKEN: "lbe_env" });
  assertEquals(cmd.command === "enroll" && cmd.token, "lbe_env");
  // An explicit --token wins; "-" is passed through for main to read stdin.
  const flag = parseCliArgs(["enroll", "--server", "ws://x", "--state-dir", "d", "--token", "-"], { LB_ENROLL_TOKEN: "lbe_env" });
  assertEquals(flag.command === "enroll" && flag.token, "-");
});

Deno.test("cli: labels", () => {
  assertEquals(parseLabels(""), {});
  assertEquals(parseLabels("gpu=4090, room = b12,empty="), { gpu: "4090", room: "b12", empty: "" });
  assertEquals(parseLabels("a=b=c"), { a: "b=c" });
  for (const bad of ["novalue", "=v", "a=1,a=2", "bad key=1"]) assertThrows(() => parseLabels(bad), UsageError);
});

Deno.test("cli: enroll --server takes a comma-separated gateway list, in order", () => {
  const cmd = parseCliArgs(["enroll", "--server", "ws://a:8081,wss://b.example, https://c/base", "--token", "t", "--state-dir", "d"]);
  assertEquals(cmd.command === "enroll" ? cmd.servers : null, ["ws://a:8081", "wss://b.example", "https://c/base"]);
});

Deno.test("cli: run --server overrides the enrolled gateways for one run", () => {
  assertEquals(parseCliArgs(["run", "--state-dir", "d", "--server", "ws://a:8081,ws://b:8081"]), {
    command: "run",
    stateDir: "d",
    servers: ["ws://a:8081", "ws://b:8081"],
    jobs: NO_JOB_FLAGS,
    proxy: NO_PROXY_FLAGS,
    ...NO_RUN_EXTRAS,
  });
  assertEquals(parseCliArgs(["run", "--server=wss://gw", "--state-dir", "d"]), { command: "run", stateDir: "d", servers: ["wss://gw"], jobs: NO_JOB_FLAGS, proxy: NO_PROXY_FLAGS, ...NO_RUN_EXTRAS });
});

Deno.test("cli: a bad gateway list names the bad entry", () => {
  const cases: [string, string][] = [
    ["ws://a,not a url", '--server "not a url" is not a URL'],
    ["ws://a,wss://u:p@b", '--server "wss://u:p@b" must not contain a user name or password'],
    ["ws://a,wss://b?token=x", '--server "wss://b?token=x" must not contain a query string'],
    ["ws://a,,ws://b", "has an empty entry"],
    ["ws://a,", "has an empty entry"],
    // One gateway spelled two ways is still one gateway.
    ["ws://a:8081,http://a:8081/", '--server "http://a:8081/" is given twice'],
    ["wss://b/x,wss://b/x/", '--server "wss://b/x/" is given twice'],
  ];
  for (const [text, message] of cases) assertThrows(() => parseServerList(text), UsageError, message);
  assertEquals(parseServerList("ws://a:8081,ws://a:8082,ws://b:8081"), ["ws://a:8081", "ws://a:8082", "ws://b:8081"]);
});

Deno.test("cli: enroll and run take --work-dir, --job-user and --pass-env", () => {
  const jobs = { workDir: "/var/lib/lb-work", jobUser: "lab-jobs", passEnv: ["HF_HOME", "WANDB_MODE"] };
  const flags = ["--work-dir", "/var/lib/lb-work", "--job-user", "lab-jobs", "--pass-env", "HF_HOME, WANDB_MODE"];
  const enroll = parseCliArgs(["enroll", "--server", "ws://a", "--token", "t", "--state-dir", "d", ...flags]);
  assertEquals(enroll.command === "enroll" ? enroll.jobs : null, jobs);
  assertEquals(parseCliArgs(["run", "--state-dir", "d", ...flags]), { command: "run", stateDir: "d", servers: null, jobs, proxy: NO_PROXY_FLAGS, ...NO_RUN_EXTRAS });
  const none = parseCliArgs(["run", "--state-dir", "d", "--pass-env", ""]);
  assertEquals(none.command === "run" ? none.jobs.passEnv : null, [], "an empty --pass-env passes nothing for this run");
});

Deno.test("cli: --pass-env refuses LB_ names, '=' and repeats; --job-user must be an account name", () => {
  for (const [text, message] of [
    ["A,LB_ATTEMPT_ID", "LB_ variables are set by the agent"],
    ["lb_output_dir", "LB_ variables are set by the agent"],
    ["A=1", "is not a variable name"],
    ["A,,B", "has an empty entry"],
    ["HF_HOME,hf_home", "is given twice"],
  ]) assertThrows(() => parsePassEnv(text!), UsageError, message);
  assertThrows(() => parseCliArgs(["run", "--state-dir", "d", "--job-user", "a:b"]), UsageError, "is not an account name");
  assertThrows(() => parseCliArgs(["run", "--state-dir", "d", "--job-user", "../x"]), UsageError, "is not an account name");
});

Deno.test("cli: pause --for and --until end the pause by themselves; snooze needs --until (off ends it); run takes the yield flags", () => {
  const now = Date.parse("2026-12-01T10:00:00Z");
  assertEquals(parseCliArgs(["pause", "--state-dir", "d", "--for", "2h", "--reason", "demo"], {}, now), {
    command: "pause", stateDir: "d", reason: "demo", untilMs: now + 7_200_000,
  });
  assertEquals(parseCliArgs(["pause", "--state-dir", "d"], {}, now), { command: "pause", stateDir: "d", reason: null, untilMs: null });
  assertThrows(() => parseCliArgs(["pause", "--state-dir", "d", "--for", "2h", "--until", "18:00"], {}, now), UsageError, "not both");
  assertThrows(() => parseCliArgs(["pause", "--state-dir", "d", "--for", "soon"], {}, now), UsageError, "duration");
  assertEquals(parseCliArgs(["snooze", "--state-dir", "d", "--until", "off"], {}, now), { command: "snooze", stateDir: "d", untilMs: null });
  assertThrows(() => parseCliArgs(["snooze", "--state-dir", "d"], {}, now), UsageError, "missing --until");
  assertEquals(parseCliArgs(["resume", "--state-dir", "d"]), { command: "resume", stateDir: "d" });
  const run = parseCliArgs(["run", "--state-dir", "d", "--on-activity", "stop_running", "--resume-after-idle", "5", "--gpu-threshold-mb", "512", "--yield", "on", "--control-port", "47100"]);
  assertEquals(run.command === "run" ? [run.yieldFlags, run.controlPort] : null, [
    { onActivity: "stop_running", resumeAfterIdleMs: 300_000, gpuThresholdMb: 512, enabled: true }, 47100,
  ]);
  assertThrows(() => parseCliArgs(["run", "--state-dir", "d", "--on-activity", "pause"]), UsageError, "stop_taking or stop_running");
});

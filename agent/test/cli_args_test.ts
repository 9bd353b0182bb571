import { parseCliArgs, parseLabels, parsePassEnv, parseServerList, UsageError } from "../src/cli_args.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";

const NO_JOB_FLAGS = { workDir: null, jobUser: null, passEnv: null };

Deno.test("cli: enroll with all flags, both --flag value and --flag=value", () => {
  assertEquals(parseCliArgs(["enroll", "--server", "ws://127.0.0.1:8081", "--token=lbe_x", "--state-dir", "/tmp/a", "--name", "n", "--labels", "k=v,k2=v2"]), {
    command: "enroll",
    servers: ["ws://127.0.0.1:8081"],
    token: "lbe_x",
    stateDir: "/tmp/a",
    name: "n",
    labels: { k: "v", k2: "v2" },
    jobs: NO_JOB_FLAGS,
  });
  assertEquals(parseCliArgs(["enroll", "--server", "wss://g", "--token", "t", "--state-dir", "d"]), {
    command: "enroll",
    servers: ["wss://g"],
    token: "t",
    stateDir: "d",
    name: null,
    labels: {},
    jobs: NO_JOB_FLAGS,
  });
});

Deno.test("cli: run and status", () => {
  assertEquals(parseCliArgs(["run", "--state-dir", "/tmp/a"]), { command: "run", stateDir: "/tmp/a", servers: null, jobs: NO_JOB_FLAGS });
  assertEquals(parseCliArgs(["status", "--state-dir=C:\\ProgramData\\LabBridge"]), { command: "status", stateDir: "C:\\ProgramData\\LabBridge" });
  assertEquals(parseCliArgs(["--help"]), { command: "help" });
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
  });
  assertEquals(parseCliArgs(["run", "--server=wss://gw", "--state-dir", "d"]), { command: "run", stateDir: "d", servers: ["wss://gw"], jobs: NO_JOB_FLAGS });
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
  assertEquals(parseCliArgs(["run", "--state-dir", "d", ...flags]), { command: "run", stateDir: "d", servers: null, jobs });
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

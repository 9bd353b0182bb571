import { parseCliArgs, parseLabels, UsageError } from "../src/cli_args.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";

Deno.test("cli: enroll with all flags, both --flag value and --flag=value", () => {
  assertEquals(parseCliArgs(["enroll", "--server", "ws://127.0.0.1:8081", "--token=lbe_x", "--state-dir", "/tmp/a", "--name", "n", "--labels", "k=v,k2=v2"]), {
    command: "enroll",
    server: "ws://127.0.0.1:8081",
    token: "lbe_x",
    stateDir: "/tmp/a",
    name: "n",
    labels: { k: "v", k2: "v2" },
  });
  assertEquals(parseCliArgs(["enroll", "--server", "wss://g", "--token", "t", "--state-dir", "d"]), {
    command: "enroll",
    server: "wss://g",
    token: "t",
    stateDir: "d",
    name: null,
    labels: {},
  });
});

Deno.test("cli: run and status", () => {
  assertEquals(parseCliArgs(["run", "--state-dir", "/tmp/a"]), { command: "run", stateDir: "/tmp/a" });
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
    [["enroll", "--server", "ws://x", "--state-dir", "d"], "missing --token"],
    [["enroll", "--server", "ws://x", "--token", "", "--state-dir", "d"], "--token must not be empty"],
  ];
  for (const [argv, message] of cases) assertThrows(() => parseCliArgs(argv), UsageError, message);
});

Deno.test("cli: labels", () => {
  assertEquals(parseLabels(""), {});
  assertEquals(parseLabels("gpu=4090, room = b12,empty="), { gpu: "4090", room: "b12", empty: "" });
  assertEquals(parseLabels("a=b=c"), { a: "b=c" });
  for (const bad of ["novalue", "=v", "a=1,a=2", "bad key=1"]) assertThrows(() => parseLabels(bad), UsageError);
});

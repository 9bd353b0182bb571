// Console idle time from logind on Linux: the session list and property blocks as
// loginctl prints them, local user sessions only, and the agent pausing on them.
import { consoleIdleMsOf, parseSessionIds, parseSessionProperties, readConsoleIdleMs } from "../src/os/linux_console_idle.ts";
import { ControlService } from "../src/control/control_service.ts";
import { DEFAULT_YIELD_POLICY } from "../src/control/yield_policy.ts";
import { createLogger } from "../src/runtime/log.ts";
import { assertEquals } from "./helpers/assert.ts";
import { until } from "./helpers/wait.ts";

const NOW = Date.parse("2026-12-01T10:00:00Z");
const LIST = "      2 1000 alice seat0 tty2 active no -\n     c7 1001 bob   -     pts/1 active no -\n";
const SHOW = [
  "Class=user\nRemote=no\nIdleHint=yes\nIdleSinceHint=" + (NOW - 300_000) * 1000,
  "Class=user\nRemote=yes\nIdleHint=no\nIdleSinceHint=0",
].join("\n\n") + "\n";

Deno.test("console idle (logind): a local session idle since its hint counts; an SSH login does not; an active one is idle 0", async () => {
  assertEquals(parseSessionIds(LIST), ["2", "c7"]);
  const sessions = parseSessionProperties(SHOW);
  assertEquals(sessions.length, 2);
  assertEquals(consoleIdleMsOf(sessions, NOW), 300_000, "bob's remote session is not someone at the console");
  assertEquals(consoleIdleMsOf([{ Class: "user", Remote: "no", IdleHint: "no", IdleSinceHint: "0" }], NOW), 0);
  assertEquals(consoleIdleMsOf([{ Class: "greeter", Remote: "no", IdleHint: "no" }], NOW), null, "a login screen is nobody");
  const calls: string[][] = [];
  const run = (program: string, args: string[]) => {
    calls.push([program, ...args]);
    return Promise.resolve(args[0] === "list-sessions" ? LIST : SHOW);
  };
  assertEquals(await readConsoleIdleMs(run, NOW), 300_000);
  assertEquals(calls[1], ["loginctl", "show-session", "2", "c7", "-p", "Class", "-p", "Remote", "-p", "IdleHint", "-p", "IdleSinceHint"]);
  assertEquals(await readConsoleIdleMs(() => Promise.resolve(null), NOW), null, "no logind: nothing to say");
});

Deno.test("console idle (logind): the agent asks the OS itself and someone at the console pauses it", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "lb-console-idle-" });
  const svc = await ControlService.create({
    stateDir, port: 0, policy: DEFAULT_YIELD_POLICY, owner: null, log: createLogger(() => {}), tickMs: 10, consoleIdleMs: 10,
    os: { restrictControlFiles: () => Promise.resolve(), consoleIdleMs: () => Promise.resolve(0) },
  });
  await svc.start({ connected: () => false, running: () => [], gpus: () => [] }, () => ({ gateway: null, connectedAtMs: null, lastError: null }));
  try {
    await until(() => svc.pause.view()?.source === "user_active" || undefined, "user_active pause");
    assertEquals(svc.pause.view()?.reason, "someone is using the workstation (session console)");
  } finally {
    await svc.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

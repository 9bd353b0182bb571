// The lifeline's pure parts: which argument names the wrapper, and that losing it is noticed.
import { takeLifeline, watchParent } from "../src/runtime/lifeline.ts";
import { assertEquals } from "./helpers/assert.ts";
import { until } from "./helpers/wait.ts";

Deno.test("a leading --lifeline-parent names the wrapper and is taken off the agent's arguments", () => {
  assertEquals(takeLifeline(["--lifeline-parent=4242", "run", "--state-dir", "/a"]), { parentPid: 4242, argv: ["run", "--state-dir", "/a"] });
  assertEquals(takeLifeline(["run", "--state-dir", "/a"]), { parentPid: null, argv: ["run", "--state-dir", "/a"] });
  // Anywhere else it is the agent's argument (a usage error there), not the wrapper's.
  assertEquals(takeLifeline(["run", "--lifeline-parent=4242"]), { parentPid: null, argv: ["run", "--lifeline-parent=4242"] });
  for (const bad of ["--lifeline-parent=", "--lifeline-parent=x", "--lifeline-parent=1", "--lifeline-parent=-5"]) {
    assertEquals(takeLifeline([bad, "status"]), { parentPid: null, argv: ["status"] }, bad);
  }
});

Deno.test("watchParent calls onLost once when the parent changes, and not while it stays", async () => {
  let ppid = 100;
  let calls = 0;
  let checks = 0;
  const stop = new AbortController();
  const watching = watchParent(100, () => calls++, stop.signal, () => {
    checks++;
    return ppid;
  });
  // Several checks with the parent still there: no call.
  await until(() => checks >= 3, "three checks");
  assertEquals(calls, 0);
  ppid = 1; // re-parented to init: the wrapper died
  await watching;
  assertEquals(calls, 1);
});

Deno.test("watchParent reports a wrapper that was already gone when the agent started", async () => {
  let calls = 0;
  await watchParent(100, () => calls++, new AbortController().signal, () => 1);
  assertEquals(calls, 1);
});

import { raceWith, sleep } from "../src/runtime/timers.ts";
import { assertEquals } from "./helpers/assert.ts";

Deno.test("sleep: a delay beyond setTimeout's 24.8-day limit does not fire at once", async () => {
  const stop = new AbortController();
  let fired = false;
  const p = sleep(30 * 86_400_000, stop.signal).then(() => (fired = true));
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(fired, false);
  stop.abort();
  await p;
  assertEquals(fired, true);
});

Deno.test("raceWith: value, timeout or abort, with nothing left pending", async () => {
  const never = new Promise<string>(() => {});
  assertEquals(await raceWith([Promise.resolve("v")], new AbortController().signal, 1_000), "v");
  assertEquals(await raceWith([never], new AbortController().signal, 20), "timeout");
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 20);
  assertEquals(await raceWith([never], stop.signal), "aborted");
});

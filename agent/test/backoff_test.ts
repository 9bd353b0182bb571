import { Backoff, jittered } from "../src/session/backoff.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

Deno.test("backoff: ceiling doubles from the base and stops at the cap", () => {
  const b = new Backoff({ baseMs: 500, capMs: 30_000, random: () => 0.999999 });
  const delays = Array.from({ length: 10 }, () => b.next());
  assertEquals(delays.map((d) => Math.round(d / 10) * 10), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
});

Deno.test("backoff: full jitter spans [0, ceiling)", () => {
  const zero = new Backoff({ random: () => 0 });
  assertEquals([zero.next(), zero.next(), zero.next()], [0, 0, 0]);
  const b = new Backoff({ baseMs: 100, capMs: 1_000 });
  for (let i = 0; i < 200; i++) {
    const ceiling = b.ceilingMs();
    const d = b.next();
    assert(d >= 0 && d < ceiling, `delay ${d} within [0, ${ceiling})`);
    assert(d <= 1_000);
  }
});

Deno.test("backoff: reset returns to the base; a long outage never overflows", () => {
  const b = new Backoff({ baseMs: 500, capMs: 30_000, random: () => 0.5 });
  for (let i = 0; i < 5_000; i++) b.next();
  assertEquals(b.next(), 15_000);
  b.reset();
  assertEquals(b.next(), 250);
});

Deno.test("jittered: within ±10%", () => {
  assertEquals(jittered(1000, 0.1, () => 0), 900);
  assertEquals(jittered(1000, 0.1, () => 0.5), 1000);
  assert(jittered(1000, 0.1, () => 0.999999) < 1100.001);
  for (let i = 0; i < 100; i++) {
    const v = jittered(200);
    assert(v >= 180 && v <= 220);
  }
});

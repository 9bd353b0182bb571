import { CLOSE_CODES, MAX_RETRY_AFTER_MS, retryAfterReason } from "../../packages/protocol/src/index.ts";
import { Backoff } from "../src/session/backoff.ts";
import { capWhileHolding, delayAfterSession, GatewayRotation, GO_AWAY_JITTER_MS, isGoAway, SERVICE_RESTART_CLOSE } from "../src/session/reconnect_policy.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";

const URLS = ["ws://a/v1/agent", "ws://b/v1/agent", "ws://c/v1/agent"];

Deno.test("rotation: the first gateway is picked by random, so a fleet spreads over the list", () => {
  assertEquals(new GatewayRotation(URLS, () => 0).current(), URLS[0]);
  assertEquals(new GatewayRotation(URLS, () => 0.34).current(), URLS[1]);
  assertEquals(new GatewayRotation(URLS, () => 0.999999).current(), URLS[2]);
  assertEquals(new GatewayRotation(URLS, () => 1).current(), URLS[2], "a random() of exactly 1 stays in range");
  const counts = new Map<string, number>();
  for (let i = 0; i < 3_000; i++) {
    const first = new GatewayRotation(URLS, Math.random).current();
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  for (const url of URLS) assert((counts.get(url) ?? 0) > 800, `${url} picked ${counts.get(url)} times of 3000`);
});

Deno.test("rotation: each move goes to the next gateway, wrapping round", () => {
  const r = new GatewayRotation(URLS, () => 0.5);
  assertEquals([r.current(), r.advance(), r.advance(), r.advance(), r.advance()], [URLS[1], URLS[2], URLS[0], URLS[1], URLS[2]]);
  const one = new GatewayRotation(["ws://only/v1/agent"], () => 0.7);
  assertEquals([one.current(), one.advance(), one.advance()], ["ws://only/v1/agent", "ws://only/v1/agent", "ws://only/v1/agent"]);
  assertThrows(() => new GatewayRotation([], Math.random), Error, "no gateway URL");
});

Deno.test("delay: a healthy session told to go away (1001, 1012) reconnects within the short jitter and leaves the backoff alone", () => {
  assert(isGoAway(CLOSE_CODES.going_away) && isGoAway(SERVICE_RESTART_CLOSE));
  assert(!isGoAway(1006) && !isGoAway(CLOSE_CODES.normal) && !isGoAway(CLOSE_CODES.replaced));
  const backoff = new Backoff({ baseMs: 500, capMs: 30_000, random: () => 0.999 });
  for (let i = 0; i < 6; i++) backoff.next(); // a long outage before: the ceiling is high
  const ceiling = backoff.ceilingMs();
  for (const code of [CLOSE_CODES.going_away, SERVICE_RESTART_CLOSE]) {
    assertEquals(delayAfterSession({ code, reason: "gateway stopping" }, true, backoff, () => 0), 0);
    assertEquals(delayAfterSession({ code, reason: "gateway stopping" }, true, backoff, () => 0.999), GO_AWAY_JITTER_MS - 1);
  }
  assertEquals(backoff.ceilingMs(), ceiling, "no failure counted");
});

Deno.test("delay: a go-away before welcome, or an abnormal close, counts a failure; 4409 waits the cap", () => {
  const backoff = new Backoff({ baseMs: 100, capMs: 5_000, random: () => 0.5 });
  assertEquals(delayAfterSession({ code: CLOSE_CODES.going_away, reason: "" }, false, backoff, () => 0), 50);
  assertEquals(delayAfterSession({ code: 1006, reason: "" }, true, backoff, () => 0), 100);
  assertEquals(delayAfterSession({ code: 1011, reason: "" }, true, backoff, () => 0), 200);
  assertEquals(delayAfterSession({ code: CLOSE_CODES.replaced, reason: "" }, true, backoff, () => 0), 5_000);
});

Deno.test("delay: 4409 at hello (an old session still looks healthy) and 4429 (rate limited) back off like a failed connect", () => {
  const backoff = new Backoff({ baseMs: 100, capMs: 5_000, random: () => 0.5 });
  assertEquals(delayAfterSession({ code: CLOSE_CODES.replaced, reason: "" }, false, backoff, () => 0), 50);
  assertEquals(delayAfterSession({ code: CLOSE_CODES.replaced, reason: "" }, false, backoff, () => 0), 100);
  assertEquals(delayAfterSession({ code: CLOSE_CODES.rate_limited, reason: "" }, true, backoff, () => 0), 200);
  assertEquals(backoff.ceilingMs(), 800, "each counted a failure");
});

Deno.test("delay: 1013 from a gateway shedding load waits the hint its reason carries, without counting a failure", () => {
  const backoff = new Backoff({ baseMs: 100, capMs: 5_000, random: () => 0.5 });
  assertEquals(delayAfterSession({ code: CLOSE_CODES.try_again_later, reason: retryAfterReason(2_345) }, false, backoff, () => 0), 2_345);
  assertEquals(delayAfterSession({ code: CLOSE_CODES.try_again_later, reason: retryAfterReason(10 * MAX_RETRY_AFTER_MS) }, false, backoff, () => 0), MAX_RETRY_AFTER_MS);
  assertEquals(backoff.ceilingMs(), 100, "no failure counted");
  assertEquals(delayAfterSession({ code: CLOSE_CODES.try_again_later, reason: "no hint" }, false, backoff, () => 0), 50, "without a hint: a failed connect");
});

Deno.test("delay: while attempts are held, no reconnect wait outlasts a quarter of the lease; idle agents keep the full backoff", () => {
  assertEquals(capWhileHolding(16_000, true, 30_000), 7_500);
  assertEquals(capWhileHolding(1_000, true, 30_000), 1_000);
  assertEquals(capWhileHolding(16_000, false, 30_000), 16_000);
  assertEquals(capWhileHolding(16_000, true, null), 16_000); // never welcomed: no lease known yet
});

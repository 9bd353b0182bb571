import { describe, expect, it } from "vitest";
import { createLogger } from "@labbridge/logging";
import { Admission, type Refusal, type Ticket } from "../../services/gateway/src/admission.ts";
import { MAX_RETRY_AFTER_MS, retryAfterOf, retryAfterReason } from "@labbridge/protocol";

// The gateway's admission control on an explicit clock and random: how many credential
// lookups it lets be in flight at once, the retry hints it gives the rest, and the hard cap
// on connections.

const silent = createLogger("admission-test", "silent");
const isTicket = (x: Ticket | Refusal): x is Ticket => "answered" in x;

function admission(maxInFlight: number, maxAgents: number, random = () => 0.5) {
  let now = 1_000_000;
  const a = new Admission({ maxInFlight, maxAgents }, silent, () => now, random);
  return { a, advance: (ms: number) => (now += ms) };
}

describe("Admission", () => {
  it("admits up to maxInFlight lookups at once, refuses the next, and has room again once one is answered", () => {
    const { a } = admission(2, 100);
    const t1 = a.admit();
    const t2 = a.admit();
    expect(isTicket(t1) && isTicket(t2)).toBe(true);
    const refused = a.admit();
    expect(refused).toMatchObject({ reason: "busy" });
    (t1 as Ticket).answered();
    (t1 as Ticket).answered(); // twice is harmless
    expect(isTicket(a.admit())).toBe(true);
    expect(a.admit()).toMatchObject({ reason: "busy" });
    expect(a.counts).toMatchObject({ inFlight: 2, peakInFlight: 2 });
  });

  it("a socket waiting for its hello holds no in-flight place, only its place under the cap", () => {
    const { a } = admission(1, 2);
    const t1 = a.admit() as Ticket;
    t1.answered();
    a.opened(); // uWS opens the socket within the upgrade
    t1.done();
    const t2 = a.admit() as Ticket;
    expect(isTicket(t2)).toBe(true);
    t2.answered();
    t2.done(); // refused credential: no socket counted
    const t3 = a.admit() as Ticket;
    expect(isTicket(t3)).toBe(true);
    t3.done(); // aborted while its lookup runs: its place under the cap is free, its in-flight place is not
    t3.done();
    expect(a.admit()).toMatchObject({ reason: "busy" });
    t3.answered();
    expect(a.counts).toMatchObject({ open: 1, inFlight: 0 });
  });

  it("spreads the refused over the time the queue needs at the rate hellos finish at, never under 250 ms", () => {
    const { a, advance } = admission(10, 100_000, () => 1);
    // Lookups take 1 s each (measured from the first one on): 10 in flight are answered 10 a second.
    for (let i = 0; i < 10; i++) {
      const t = a.admit() as Ticket;
      advance(1000);
      t.answered();
      t.done();
    }
    const tickets = Array.from({ length: 10 }, () => a.admit() as Ticket);
    expect(tickets.every(isTicket)).toBe(true);
    const hints = Array.from({ length: 90 }, () => (a.admit() as Refusal).retryAfterMs);
    // The 90th refused is the hundredth in the queue (90 refused, itself included, and 10 in
    // flight): at 10 a second (lookups of 1 s on average, 10 at once) it waits up to 10 s.
    expect(hints.at(-1)).toBeGreaterThan(9_000);
    expect(hints.at(-1)).toBeLessThanOrEqual(250 + 10_000);
    expect(hints[0]).toBeLessThan(hints.at(-1)! / 5); // the first refused wait behind few
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(250);
    const low = admission(1, 100, () => 0);
    low.a.admit();
    expect((low.a.admit() as Refusal).retryAfterMs).toBe(250);
  });

  it("at the start of a storm, with no lookup answered yet, hints span what the in-flight limit gets through", () => {
    const { a } = admission(500, 100_000, () => 1);
    for (let i = 0; i < 500; i++) a.admit();
    const hints = Array.from({ length: 500 }, () => (a.admit() as Refusal).retryAfterMs);
    // 1,000 in the queue at 5,000 a second (the 100 ms guess, 500 at once): 0.2 s, under the 250 ms floor, not 30 s.
    expect(hints.at(-1)).toBe(250 + 250);
  });

  it("counts open connections against the hard cap and refuses newcomers with 5 to 30 s while full", () => {
    const { a } = admission(10, 2, () => 0);
    for (const t of [a.admit() as Ticket, a.admit() as Ticket]) {
      t.answered();
      a.opened();
      t.done();
    }
    const full = a.admit() as Refusal;
    expect(full).toEqual({ reason: "full", retryAfterMs: 5000 });
    a.closed();
    expect(isTicket(a.admit())).toBe(true);
    expect(a.counts).toMatchObject({ open: 1, inFlight: 1 });
  });
});

describe("retry hints", () => {
  it("round-trip through a close reason, capped at the longest wait", () => {
    expect(retryAfterOf(retryAfterReason(1234.4))).toBe(1234);
    expect(retryAfterOf(retryAfterReason(10 * MAX_RETRY_AFTER_MS))).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterOf("gateway stopping")).toBeNull();
    expect(Buffer.byteLength(retryAfterReason(MAX_RETRY_AFTER_MS))).toBeLessThan(123);
  });
});

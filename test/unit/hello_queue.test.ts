import { describe, expect, it } from "vitest";
import { HelloQueue } from "../../services/gateway/src/hello_queue.ts";

// The gateway's line of hellos: a few at once, the rest in the order they came, none
// refused, and a socket that closes while it waits leaving the line.

describe("HelloQueue", () => {
  it("runs up to its limit at once and starts the waiting ones in arrival order as each ends", async () => {
    const q = new HelloQueue(2);
    const keys = Array.from({ length: 5 }, (_, i) => ({ i }));
    const started: number[] = [];
    const turns = keys.map((k) => q.turn(k).then((turn) => turn && started.push(k.i)));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(q.counts).toEqual({ running: 2, waiting: 3, peakRunning: 2 });
    q.done();
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    q.done();
    q.done();
    await Promise.all(turns);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    q.done();
    q.done();
    expect(q.counts).toEqual({ running: 0, waiting: 0, peakRunning: 2 });
  });

  it("a socket that closes while it waits leaves the line: its turn says false and the next one gets the place", async () => {
    const q = new HelloQueue(1);
    const [a, b, c] = [{}, {}, {}];
    expect(await q.turn(a)).toBe(true);
    const tb = q.turn(b);
    const tc = q.turn(c);
    q.leave(b);
    q.leave(b); // harmless twice, and for a socket not in line
    q.leave(a);
    expect(await tb).toBe(false);
    q.done();
    expect(await tc).toBe(true);
    expect(q.counts).toMatchObject({ running: 1, waiting: 0 });
  });

  it("a newcomer does not pass those already waiting, even when a place is free", async () => {
    const q = new HelloQueue(1);
    const order: string[] = [];
    await q.turn({});
    const waiting = q.turn({}).then(() => order.push("waiting"));
    q.done(); // the waiting one takes the place at once
    const newcomer = q.turn({}).then(() => order.push("newcomer"));
    await waiting;
    q.done();
    await newcomer;
    expect(order).toEqual(["waiting", "newcomer"]);
  });
});

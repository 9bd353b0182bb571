import { LineTracker, truncateMessage } from "../src/attempt/line_tracker.ts";
import { assertEquals } from "./helpers/assert.ts";

const enc = new TextEncoder();

Deno.test("line tracker: last complete line, across chunks, \\r counts as a line end", () => {
  const t = new LineTracker();
  assertEquals(t.latest(), null);
  t.push(enc.encode("epoch 1\nepo"));
  assertEquals(t.latest(), { seq: 1, line: "epoch 1" });
  t.push(enc.encode("ch 2\n\n  \n"));
  assertEquals(t.latest(), { seq: 2, line: "epoch 2" });
  t.push(enc.encode("10%|#   \r20%|##  \r"));
  assertEquals(t.latest()?.line, "20%|##");
  t.push(enc.encode("no newline yet"));
  assertEquals(t.latest()?.line, "20%|##");
});

Deno.test("line tracker: multi-byte characters split between chunks", () => {
  const t = new LineTracker();
  const bytes = enc.encode("损失 0.5\n");
  t.push(bytes.slice(0, 2));
  t.push(bytes.slice(2));
  assertEquals(t.latest()?.line, "损失 0.5");
});

Deno.test("truncateMessage: 1024 units, never half a surrogate pair", () => {
  assertEquals(truncateMessage("abc"), "abc");
  assertEquals(truncateMessage("x".repeat(2000)).length, 1024);
  const s = "x".repeat(1023) + "😀";
  assertEquals(truncateMessage(s), "x".repeat(1023));
});

// The log tailer on real files: a writer appends, the tailer must hand over every byte
// once, in order, including what was written just before it was stopped.
import { assertEquals } from "./helpers/assert.ts";
import { LineTracker } from "../src/attempt/line_tracker.ts";
import { tailLog } from "../src/attempt/log_tailer.ts";
import { until } from "./helpers/wait.ts";

async function withTail(fn: (ctx: { path: string; text: () => string; lines: LineTracker; stop: () => Promise<void> }) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "lb-tail-" });
  const path = `${dir}/stdout.log`;
  const chunks: Uint8Array[] = [];
  const lines = new LineTracker();
  const ctl = new AbortController();
  let running: Promise<void> | null = null;
  const start = () =>
    running = tailLog({
      path,
      intervalMs: 10,
      chunkSize: 7, // small, so a line arrives in pieces
      onBytes: (b) => {
        chunks.push(b);
        lines.push(b);
      },
    }, ctl.signal);
  const text = () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  try {
    start();
    await fn({ path, text, lines, stop: () => (ctl.abort(), running!) });
  } finally {
    ctl.abort();
    await running;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("appended output reaches the tailer in order, each byte once, and the last line becomes progress", async () => {
  await withTail(async ({ path, text, lines }) => {
    const f = await Deno.open(path, { write: true, create: true, append: true });
    try {
      await f.write(new TextEncoder().encode("epoch 1/3\n"));
      await until(() => lines.latest()?.line === "epoch 1/3", "first line");
      await f.write(new TextEncoder().encode("epoch 2/3 loss=0.41\r"));
      await until(() => lines.latest()?.line === "epoch 2/3 loss=0.41", "a \\r-terminated progress line");
      assertEquals(text(), "epoch 1/3\nepoch 2/3 loss=0.41\r");
    } finally {
      f.close();
    }
  });
});

Deno.test("a log file that appears only after the tailer started is picked up", async () => {
  await withTail(async ({ path, lines }) => {
    await Deno.writeTextFile(path, "started late\n");
    await until(() => lines.latest()?.line === "started late", "the late file's line");
  });
});

Deno.test("stopping the tailer still delivers everything written before the stop", async () => {
  await withTail(async ({ path, text, stop }) => {
    await Deno.writeTextFile(path, "a\n");
    await until(() => text() === "a\n", "first write");
    await Deno.writeTextFile(path, "final words\n", { append: true });
    await stop(); // no wait for a poll: the final pass must read it
    assertEquals(text(), "a\nfinal words\n");
  });
});

Deno.test("a file rewritten shorter than what was read is followed again from its start", async () => {
  await withTail(async ({ path, lines }) => {
    await Deno.writeTextFile(path, "a long first line of output\n");
    await until(() => lines.latest()?.line === "a long first line of output", "first content");
    await Deno.writeTextFile(path, "new\n"); // truncated and rewritten
    await until(() => lines.latest()?.line === "new", "the rewritten content");
  });
});

// The agent's own log in its state folder: rotation by size, redaction on the way in, and
// `logs [-f] [--lines N]` reading it across rotated files, with a temp state folder.
import { logsCommand, rotatedAway } from "../src/cli/logs.ts";
import { createLogger } from "../src/runtime/log.ts";
import { logFilePath, RotatingLogFile, teeSink } from "../src/runtime/log_file.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { until } from "./helpers/wait.ts";

async function withState(test: (stateDir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lb-agent-log-" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const line = (i: number) => JSON.stringify({ level: "info", msg: `line ${String(i).padStart(4, "0")}` }); // 35 bytes + newline
const read = (path: string) => Deno.readTextFileSync(path).trimEnd().split("\n");
const existsSync = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

function collector() {
  const dec = new TextDecoder();
  let text = "";
  return {
    write: (c: Uint8Array) => void (text += dec.decode(c, { stream: true })),
    lines: () => text.trimEnd().split("\n").filter(Boolean),
    text: () => text,
  };
}

Deno.test("log file: rotates past its size into .1 … .keep, drops the oldest, never a file over the limit, and keeps every line of the kept files in order", async () => {
  await withState(async (state) => {
    const path = logFilePath(state);
    const file = new RotatingLogFile(path, { maxBytes: 360, keep: 2 }); // 10 lines a file
    file.open();
    for (let i = 0; i < 45; i++) file.sink(line(i));
    file.close();
    assertEquals(read(path), Array.from({ length: 5 }, (_, i) => line(40 + i)));
    assertEquals(read(`${path}.1`), Array.from({ length: 10 }, (_, i) => line(30 + i)));
    assertEquals(read(`${path}.2`), Array.from({ length: 10 }, (_, i) => line(20 + i)));
    assert(!existsSync(`${path}.3`), "only two old files are kept");
    for (const p of [path, `${path}.1`, `${path}.2`]) assert(Deno.statSync(p).size <= 360, p);
    if (Deno.build.os !== "windows") assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
    // Opening again appends, and counts what is there toward the next rotation.
    const again = new RotatingLogFile(path, { maxBytes: 360, keep: 2 });
    again.open();
    for (let i = 45; i < 51; i++) again.sink(line(i));
    again.close();
    assertEquals(read(path), [line(50)]);
    assertEquals(read(`${path}.1`).at(-1), line(49));
  });
});

Deno.test("log file: a folder removed under it costs lines, never an exception, and the file comes back with the next line", async () => {
  await withState(async (state) => {
    const path = logFilePath(state);
    const file = new RotatingLogFile(path, { maxBytes: 1 << 20, keep: 1 });
    file.open();
    file.close();
    await Deno.remove(`${state}/logs`, { recursive: true });
    await Deno.writeTextFile(`${state}/logs`, "a file where the folder was");
    file.sink(line(1)); // cannot open: swallowed
    await Deno.remove(`${state}/logs`);
    file.sink(line(2));
    file.close();
    assertEquals(read(path), [line(2)]);
  });
});

Deno.test("log file: lines from the logger reach the file and stdout alike, with no token, credential or URL signature", async () => {
  await withState(async (state) => {
    const file = new RotatingLogFile(logFilePath(state));
    file.open();
    const stdout: string[] = [];
    const log = createLogger(teeSink((l) => stdout.push(l), file.sink)).child({ agent_id: "agt_1" });
    log.info("uploading", { url: "https://bucket.example/jobs/j/a/logs/stdout.log?OSSAccessKeyId=AK&Signature=c2lnbmF0dXJl&Expires=9" });
    log.warn("enroll refused", { token: "lbe_enrollment_secret_123", error: new Error("401 for Authorization: Bearer lba_credential_secret_456") });
    log.error("state", { credential: "lba_credential_secret_456", nested: { password: "hunter2" } });
    file.close();
    const text = Deno.readTextFileSync(logFilePath(state));
    assertEquals(text.trimEnd().split("\n"), stdout);
    for (const secret of ["Signature=", "c2lnbmF0dXJl", "OSSAccessKeyId", "lbe_enrollment_secret_123", "lba_credential_secret_456", "hunter2"]) {
      assert(!text.includes(secret), `"${secret}" reached the log`);
    }
    assert(text.includes("https://bucket.example/jobs/j/a/logs/stdout.log"), "the URL without its signature stays readable");
    assert(text.includes("Bearer [redacted]"));
  });
});

Deno.test("logs: prints the last N lines, reaching into rotated files when the current one is shorter; no log yet is exit 1", async () => {
  await withState(async (state) => {
    const warnings: string[] = [];
    assertEquals(await logsCommand({ stateDir: state, lines: 5, follow: false, write: () => {}, warn: (m) => warnings.push(m) }), 1);
    assert(warnings[0]!.startsWith("No agent log at"), warnings[0]);
    const file = new RotatingLogFile(logFilePath(state), { maxBytes: 360, keep: 3 });
    file.open();
    for (let i = 0; i < 25; i++) file.sink(line(i)); // .2: 0–9, .1: 10–19, agent.log: 20–24
    file.close();
    const out = collector();
    assertEquals(await logsCommand({ stateDir: state, lines: 12, follow: false, write: out.write }), 0);
    assertEquals(out.lines(), Array.from({ length: 12 }, (_, i) => line(13 + i)));
    const all = collector();
    await logsCommand({ stateDir: state, lines: 1000, follow: false, write: all.write });
    assertEquals(all.lines(), Array.from({ length: 25 }, (_, i) => line(i)));
    const none = collector();
    await logsCommand({ stateDir: state, lines: 0, follow: false, write: none.write });
    assertEquals(none.text(), "");
  });
});

Deno.test("logs -f: follows appended lines across rotations, each line once and in order, until stopped", async () => {
  await withState(async (state) => {
    const file = new RotatingLogFile(logFilePath(state), { maxBytes: 360, keep: 1 });
    file.open();
    for (let i = 0; i < 3; i++) file.sink(line(i));
    const out = collector();
    const stop = new AbortController();
    const following = logsCommand({ stateDir: state, lines: 2, follow: true, write: out.write, intervalMs: 5, signal: stop.signal });
    await until(() => out.lines().length === 2 || undefined, "the tail");
    assertEquals(out.lines(), [line(1), line(2)]);
    // 3 rotations, and lines written right before and after each one.
    for (let i = 3; i < 40; i++) {
      file.sink(line(i));
      if (i % 4 === 0) await until(() => out.lines().length === i || undefined, `line ${i}`);
    }
    await until(() => out.lines().length === 39 || undefined, "every line");
    stop.abort();
    assertEquals(await following, 0);
    file.close();
    assertEquals(out.lines(), Array.from({ length: 39 }, (_, i) => line(i + 1)));
  });
});

Deno.test("logs -f: waits for a log that does not exist yet", async () => {
  await withState(async (state) => {
    const out = collector();
    const stop = new AbortController();
    const following = logsCommand({ stateDir: state, lines: 10, follow: true, write: out.write, intervalMs: 5, signal: stop.signal });
    const file = new RotatingLogFile(logFilePath(state));
    file.open();
    file.sink(line(7));
    await until(() => out.lines().length === 1 || undefined, "the first line");
    stop.abort();
    await following;
    file.close();
    assertEquals(out.lines(), [line(7)]);
  });
});

Deno.test("logs -f: a rotated file is told by its inode, or where there is none (Windows) by a new creation time or by being shorter than what was read", () => {
  const t = new Date("2026-01-01T00:00:00Z");
  const later = new Date("2026-01-01T00:00:05Z");
  assertEquals(rotatedAway({ ino: 2, birthtime: t, size: 10 }, { ino: 1, birthtime: t, size: 999 }, 999), true);
  assertEquals(rotatedAway({ ino: 1, birthtime: t, size: 10 }, { ino: 1, birthtime: t, size: 10 }, 5), false);
  assertEquals(rotatedAway({ ino: null, birthtime: later, size: 5000 }, { ino: null, birthtime: t, size: 999 }, 999), true);
  // Tunneling kept the creation time: the new file is shorter than what was read of the old one.
  assertEquals(rotatedAway({ ino: null, birthtime: t, size: 40 }, { ino: null, birthtime: t, size: 999 }, 999), true);
  assertEquals(rotatedAway({ ino: null, birthtime: t, size: 1200 }, { ino: null, birthtime: t, size: 1200 }, 999), false);
  assertEquals(rotatedAway({ ino: null, birthtime: null, size: 40 }, { ino: null, birthtime: null, size: 999 }, 999), true);
});

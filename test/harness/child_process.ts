// A child process of the harness: its output lines are kept (and teed to a log file), and
// callers can wait for a line, such as a service's "listening" line with its port.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";

/** A started child process. */
export class Child {
  readonly lines: string[] = [];
  private readonly waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly log: WriteStream;

  constructor(readonly name: string, readonly proc: ChildProcess, logFile: string) {
    this.log = createWriteStream(logFile, { flags: "a" });
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => this.onLine(line));
    }
    this.exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  }

  private onLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 5000) this.lines.splice(0, 1000);
    this.log.write(line + "\n");
    for (const w of [...this.waiters]) {
      if (w.match(line)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }

  /** Resolves with the first line (already seen or coming) that matches; rejects on exit or timeout. */
  waitForLine(match: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no matching line within ${timeoutMs} ms; last lines:\n${this.lines.slice(-10).join("\n")}`)), timeoutMs);
      const waiter = { match, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
      this.waiters.push(waiter);
      void this.exited.then(({ code, signal }) => {
        if (!this.waiters.includes(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) before a matching line; last lines:\n${this.lines.slice(-15).join("\n")}`));
      });
    });
  }

  /** Resolves with the first JSON log line whose msg equals `msg`. */
  async waitForMsg(msg: string, timeoutMs?: number): Promise<Record<string, unknown>> {
    const line = await this.waitForLine((l) => l.includes(`"msg":"${msg}"`), timeoutMs);
    return JSON.parse(line) as Record<string, unknown>;
  }

  /** Sends a signal and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.log.end();
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
}

/** Spawns a command as a named child with its output captured. */
export function startChild(name: string, command: string, args: string[], opts: { env: Record<string, string>; cwd: string; logFile: string }): Child {
  const proc = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Child(name, proc, opts.logFile);
}

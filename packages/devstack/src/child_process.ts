// A child process of the harness: its output lines are kept (and teed to a log file), and
// callers can wait for a line, such as a service's "listening" line with its port.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { descendantsOf, killTreeAtOnce, readProc, type Proc } from "./proc_tree.ts";

/** A started child process. */
export class Child {
  readonly lines: string[] = [];
  private readonly waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly log: WriteStream;
  /**
   * Processes that were below this one when it was signalled: the jobs of an agent, which
   * outlive a SIGKILLed agent as they would on a real machine. The owner ends them later
   * by these pids (see Bridge.stop).
   */
  readonly leftovers: Proc[] = [];

  constructor(readonly name: string, readonly proc: ChildProcess, logFile: string) {
    this.log = createWriteStream(logFile, { flags: "a" });
    // A log file that cannot be written must not take the harness down with it (the
    // processes it started would be left running): said once, the lines stay in memory.
    this.log.on("error", (err) => process.stderr.write(`${name}: its log file ${logFile} cannot be written (${err.message}); lines kept in memory only\n`));
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => this.onLine(line));
    }
    this.exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  }

  private onLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 5000) this.lines.splice(0, 1000);
    // Lines still in the pipe when the exit came arrive after stop() ended the log file
    // (waiting for the pipes to close instead would hang on jobs that outlive their agent
    // and hold them), and a log file that failed is no longer writable: such lines are
    // kept in `lines` only.
    if (this.log.writable) this.log.write(line + "\n");
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

  /** Sends a signal and waits for the exit (SIGKILL after `graceMs`); what ran below it is kept in `leftovers`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.signalKeepingLeftovers(signal);
    const timer = setTimeout(() => this.signalKeepingLeftovers("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.log.end();
  }

  /** SIGKILLs this process and every process below it at once (a reboot of its machine), and waits for the exit. */
  async killWithTree(): Promise<Proc[]> {
    const self = this.self();
    const killed = self ? killTreeAtOnce([self]) : [];
    await this.exited;
    this.log.end();
    return killed;
  }

  /** This process with its start time, or null once it has exited. */
  self(): Proc | null {
    return this.running && this.proc.pid !== undefined ? readProc(this.proc.pid) : null;
  }

  /** Notes the processes below this one, then signals it; a SIGKILL freezes it first, so it starts nothing unnoted. */
  private signalKeepingLeftovers(signal: NodeJS.Signals): void {
    const self = this.self();
    if (!self) return;
    if (signal === "SIGKILL") this.proc.kill("SIGSTOP");
    const seen = new Set(this.leftovers.map((p) => `${p.pid}:${p.start}`));
    this.leftovers.push(...descendantsOf([self]).filter((p) => !seen.has(`${p.pid}:${p.start}`)));
    this.proc.kill(signal);
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

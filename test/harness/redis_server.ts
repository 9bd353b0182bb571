// A private redis-server for fault-injection tests: its own port and data dir, AOF on and RDB
// off, so a test can SIGKILL it as a crash and restart it on the same port from the AOF.
// Every server it starts is killed when the test process exits.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free_port.ts";

export type AppendFsync = "always" | "everysec" | "no";

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 10_000;
const LOG_FILE = "redis.log";

// Servers still running; a crashed or interrupted test must not leave redis-servers behind.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const proc of live) proc.kill("SIGKILL");
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A redis-server child process with AOF persistence in its own directory. */
export class RedisServer {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stderr = "";

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly appendfsync: AppendFsync,
  ) {}

  /** Starts redis-server on a free port (or `port`) with data in `dir`; resolves once it answers PING and is not loading. */
  static async start(opts: { dir: string; port?: number; appendfsync?: AppendFsync }): Promise<RedisServer> {
    mkdirSync(opts.dir, { recursive: true });
    const server = new RedisServer(opts.port ?? (await freePort()), opts.dir, opts.appendfsync ?? "everysec");
    await server.launch();
    return server;
  }

  /** redis://127.0.0.1:<port> */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The pid of the running process, or null. */
  get pid(): number | null {
    return this.running ? (this.proc?.pid ?? null) : null;
  }

  /** True while the process runs. */
  get running(): boolean {
    // In `live` from spawn until 'exit' or a spawn 'error' (after which no 'exit' may come).
    return this.proc !== null && live.has(this.proc);
  }

  /** Kills the process (SIGKILL by default, as a crash) and waits until it has exited. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.running) this.proc!.kill(signal);
    await this.exited;
  }

  /** Starts it again on the same port and dir, loading the AOF (stopping it first if it still runs); resolves once loaded. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.launch();
  }

  /** SIGTERM (Redis flushes the AOF and exits) and wait, SIGKILL after a grace period; removes nothing. */
  async stop(): Promise<void> {
    if (!this.running) return this.exited;
    const proc = this.proc!;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** The last `lines` lines of the server's log file, for error messages. */
  logTail(lines = 20): string {
    let log = "";
    try {
      log = readFileSync(join(this.dir, LOG_FILE), "utf8");
    } catch {
      // Not written yet: Redis failed before opening it, and stderr says why.
    }
    return [...log.trimEnd().split("\n").slice(-lines), this.stderr.trim()].filter(Boolean).join("\n");
  }

  private async launch(): Promise<void> {
    installExitHook();
    const args = [
      "--port", String(this.port),
      "--bind", "127.0.0.1",
      "--dir", this.dir,
      // Absolute: relative paths would depend on when Redis applies --dir.
      "--logfile", join(this.dir, LOG_FILE),
      "--daemonize", "no",
      "--appendonly", "yes",
      "--appendfsync", this.appendfsync,
      "--save", "",
    ];
    this.stderr = "";
    const proc = spawn("redis-server", args, { cwd: this.dir, stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    live.add(proc);
    // Config errors go to stderr before the log file is open; keep the tail of it.
    proc.stderr?.setEncoding("utf8").on("data", (text: string) => (this.stderr = (this.stderr + text).slice(-4000)));
    let spawnError: Error | null = null;
    this.exited = new Promise((resolve) => {
      proc.once("error", (err) => {
        spawnError = err;
        live.delete(proc);
        resolve();
      });
      proc.once("exit", () => {
        live.delete(proc);
        resolve();
      });
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`Cannot start redis-server on port "${this.port}": ${(spawnError as Error).message}`);
      if (!this.running) {
        await this.exited;
        throw new Error(`Redis server on port "${this.port}" exited while starting (code ${proc.exitCode}, signal ${proc.signalCode}):\n${this.logTail()}`);
      }
      // A server that dies while a probe waits on a stray listener should fail now, not after the probe's timeout.
      const state = await Promise.race([this.probe(), this.exited.then(() => "exited")]);
      if (state === "ready") return;
      last = state;
      await sleep(50);
    }
    proc.kill("SIGKILL");
    await this.exited;
    throw new Error(`Redis server on port "${this.port}" not ready within ${READY_TIMEOUT_MS} ms: ${last}\n${this.logTail()}`);
  }

  /** "ready" when PING answers and INFO says the dataset is loaded, else what stood in the way. */
  private async probe(): Promise<string> {
    const client = new Redis({
      host: "127.0.0.1",
      port: this.port,
      lazyConnect: true,
      enableReadyCheck: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
      // Something else on the port may accept and never answer.
      commandTimeout: 500,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      // While loading, PING answers -LOADING; INFO is allowed and tells when it is done.
      if ((await client.ping()) !== "PONG") return "PING did not answer PONG";
      const info = await client.info("persistence");
      return /^loading:0\r?$/m.test(info) ? "ready" : "still loading the AOF";
    } catch (err) {
      return (err as Error).message;
    } finally {
      client.disconnect();
    }
  }
}

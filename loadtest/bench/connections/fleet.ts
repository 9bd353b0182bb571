// The fake fleet: client processes (client_process.ts), each holding its slice of the
// provisioned agents, driven together. One process holds at most PER_CLIENT agents (a
// process here may not open more than 20,000 files), spread over 127.0.0.x addresses.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ClientStats } from "./client_process.ts";

/** Agents per client process: under the 20,000 open files a process may hold here. */
export const PER_CLIENT = 15_000;
/** Source addresses the fleet spreads over (127.0.0.2 …): 28,000 ephemeral ports each. */
export const SOURCE_ADDRESSES = 16;

const CLIENT = fileURLToPath(new URL("./client_process.ts", import.meta.url));

type Reply = { cmd: string; stats?: ClientStats; started?: number };

class ClientHandle {
  private waiting: ((m: Reply) => void)[] = [];
  readonly ready: Promise<void>;

  constructor(readonly proc: ChildProcess, readonly size: number) {
    this.ready = new Promise((resolve, reject) => {
      proc.once("error", reject);
      proc.once("exit", (code) => reject(new Error(`bench client exited with ${code} before it was ready`)));
      proc.on("message", (m: Reply) => {
        if (m.cmd === "ready") return resolve();
        this.waiting.shift()?.(m);
      });
    });
  }

  ask(msg: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.send(msg);
    });
  }
}

/** Sum of the clients' counters, and all their samples. */
export function mergeStats(list: ClientStats[]): ClientStats {
  const out: ClientStats = { connected: 0, welcomed: 0, welcomeTimes: [], rtts: [], framesOut: 0, framesIn: 0, bytesOut: 0, bytesIn: 0, pingsIn: 0, retryHints: 0, connectErrors: 0, closes: {} };
  for (const s of list) {
    for (const k of ["connected", "welcomed", "framesOut", "framesIn", "bytesOut", "bytesIn", "pingsIn", "retryHints", "connectErrors"] as const) out[k] += s[k];
    for (const t of s.welcomeTimes) out.welcomeTimes.push(t);
    for (const r of s.rtts) out.rtts.push(r);
    for (const [code, n] of Object.entries(s.closes)) out.closes[code] = (out.closes[code] ?? 0) + n;
  }
  return out;
}

/** A set of client processes over the agents of one credentials file. */
export class Fleet {
  private constructor(private readonly clients: ClientHandle[]) {}

  /** Starts enough client processes for `count` agents of `credsFile` (the first `count`). */
  static async start(credsFile: string, count: number): Promise<Fleet> {
    const clients: ClientHandle[] = [];
    for (let first = 0; first < count; first += PER_CLIENT) {
      const size = Math.min(PER_CLIENT, count - first);
      const proc = fork(CLIENT, [credsFile, String(first), String(size), String(SOURCE_ADDRESSES)], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      clients.push(new ClientHandle(proc, size));
    }
    await Promise.all(clients.map((c) => c.ready));
    return new Fleet(clients);
  }

  /** Connects `count` more agents, spread over the clients in proportion, to `urls`. */
  async connect(urls: string[], count: number): Promise<void> {
    const total = this.clients.reduce((s, c) => s + c.size, 0);
    await Promise.all(this.clients.map((c) => c.ask({ cmd: "connect", urls, count: Math.ceil((count * c.size) / total) })));
  }

  /** Every client's counters merged; `reset` starts the next window. */
  async stats(reset = false): Promise<ClientStats> {
    return mergeStats((await Promise.all(this.clients.map((c) => c.ask({ cmd: "stats", reset })))).map((r) => r.stats!));
  }

  /** Cuts every socket at once; the agents reconnect by themselves. */
  async drop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.ask({ cmd: "drop" })));
  }

  /** Closes every agent normally (keeps the processes for another connect). */
  async closeAgents(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.ask({ cmd: "close" })));
  }

  /** Closes every agent and ends the processes. */
  async stop(): Promise<void> {
    await this.closeAgents().catch(() => undefined);
    for (const c of this.clients) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
  }
}

// Local control while `run` runs: the pause state (loaded from the state folder), the
// yield watch, the endpoint on 127.0.0.1, and the files that tell the CLI and the idle
// reporter where it is. Started before the agent connects and stopped after it, so the
// owner's pause holds from the first hello on.
import type { Gpu } from "../../../packages/protocol/src/index.ts";
import { errorText, type Logger } from "../runtime/log.ts";
import type { OsSeam } from "../os/os_seam.ts";
import { sleep } from "../runtime/timers.ts";
import {
  controlFilePath, idleReportFilePath, newControlToken, removeControlFiles, writeSecretFile,
} from "./control_file.ts";
import { type ControlServer, startControlServer } from "./control_server.ts";
import { PauseState } from "./pause_state.ts";
import type { TapSnapshot } from "./status_tap.ts";
import type { YieldPolicy } from "./yield_policy.ts";
import { YieldWatch } from "./yield_watch.ts";

/** What the agent tells status (agent.ts implements it). */
export interface AgentView {
  connected(): boolean;
  running(): string[];
  gpus(): Gpu[];
}

export interface ControlOptions {
  stateDir: string;
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
  policy: YieldPolicy;
  /** The account allowed to read control.json besides the administrators (agent.json `control_owner`), or null. */
  owner: string | null;
  os: Pick<OsSeam, "restrictControlFiles" | "consoleIdleMs">;
  log: Logger;
  clock?: () => number;
  /** How often holds that ran out are ended and idle time is re-judged. */
  tickMs?: number;
  /** How often the agent asks the OS itself for console idle time (where it can, os.consoleIdleMs). */
  consoleIdleMs?: number;
}

export class ControlService {
  readonly pause: PauseState;
  readonly watch: YieldWatch;
  private server: ControlServer | null = null;
  private readonly stop = new AbortController();
  private ticking: Promise<void> = Promise.resolve();
  private agent: AgentView | null = null;
  private tap: (() => TapSnapshot) | null = null;
  private readonly clock: () => number;

  private constructor(private readonly opts: ControlOptions, pause: PauseState) {
    this.clock = opts.clock ?? Date.now;
    this.pause = pause;
    this.watch = new YieldWatch(pause, opts.policy, this.clock);
  }

  /** Loads the pause state; nothing listens yet. */
  static async create(opts: ControlOptions): Promise<ControlService> {
    const clock = opts.clock ?? Date.now;
    const { state, problem } = await PauseState.load(opts.stateDir, clock);
    if (problem) opts.log.warn("pause state unreadable; starting unpaused", { error: problem });
    return new ControlService(opts, state);
  }

  /**
   * Starts the periodic expiry and idle checks, listens on 127.0.0.1 and writes
   * control.json and idle-report.json. Returns the port, or null when the endpoint could
   * not start (logged; the rest of local control still works).
   */
  async start(agent: AgentView, tap: () => TapSnapshot): Promise<number | null> {
    const { opts } = this;
    this.agent = agent;
    this.tap = tap;
    // Expiry and idle judging run whether or not the endpoint comes up: a pause kept in
    // pause.json must still end on time.
    const tickMs = opts.tickMs ?? 1_000;
    const consoleEvery = Math.max(1, Math.round((opts.consoleIdleMs ?? 15_000) / tickMs));
    this.ticking = (async () => {
      for (let tick = 0; !this.stop.signal.aborted; tick++) {
        await sleep(tickMs, this.stop.signal);
        if (opts.policy.enabled && tick % consoleEvery === 0) {
          const idle = await opts.os.consoleIdleMs().catch(() => null);
          if (idle !== null) this.watch.observeUserIdle(idle, "console");
        }
        this.pause.expire();
        this.watch.evaluate();
      }
    })();
    try {
      return await this.listen();
    } catch (e) {
      // Without the endpoint the owner's commands and the idle reporter cannot reach the
      // agent, but jobs, the API's pause and GPU yielding still work: better than no agent.
      opts.log.error("local control endpoint not started; agent pause/resume/snooze/status will say it is not running", { error: errorText(e) });
      const server = this.server;
      this.server = null;
      await server?.close();
      await removeControlFiles(opts.stateDir);
      return null;
    }
  }

  private async listen(): Promise<number> {
    const { opts } = this;
    const token = newControlToken();
    const reportToken = newControlToken();
    this.server = await startControlServer({
      port: opts.port, token, reportToken, clock: this.clock,
      handlers: {
        status: () => this.status(),
        pause: (reason, untilMs) => (this.pause.hold("local", reason, untilMs), this.status()),
        resume: () => (this.pause.release("local"), this.status()),
        snooze: (untilMs) => (this.pause.snooze(untilMs), this.watch.evaluate(), this.status()),
        idle: (idleMs, session) => this.watch.observeUserIdle(idleMs, session),
      },
    });
    const port = this.server.port;
    const chmod = Deno.build.os !== "windows";
    await writeSecretFile(controlFilePath(opts.stateDir), { port, token, pid: Deno.pid }, chmod);
    await writeSecretFile(idleReportFilePath(opts.stateDir), { port, token: reportToken }, chmod);
    await opts.os.restrictControlFiles(controlFilePath(opts.stateDir), idleReportFilePath(opts.stateDir), opts.owner);
    opts.log.info("local control listening", { address: `127.0.0.1:${port}`, owner_allowed: opts.owner });
    return port;
    return port;
  }

  /** Stops listening and removes the files, so the CLI says "not running". */
  async close(): Promise<void> {
    this.stop.abort();
    await this.ticking;
    const server = this.server;
    this.server = null;
    await server?.close();
    await removeControlFiles(this.opts.stateDir);
    await this.pause.flushed();
  }

  /** The live status `agent status` prints. */
  status(): Record<string, unknown> {
    const now = this.clock();
    const tap = this.tap?.() ?? { gateway: null, connectedAtMs: null, lastError: null };
    const connected = this.agent?.connected() ?? false;
    const snooze = this.pause.snoozeUntil();
    const lastInput = this.watch.lastInput();
    return {
      running: true,
      connected,
      gateway: connected ? tap.gateway : null,
      session_age_seconds: connected && tap.connectedAtMs !== null ? Math.round((now - tap.connectedAtMs) / 1000) : null,
      attempts: this.agent?.running() ?? [],
      paused: this.pause.paused(),
      pause: this.pause.view(),
      holds: this.pause.list().map((h) => ({
        source: h.source, reason: h.reason, since: new Date(h.sinceMs).toISOString(), until: h.untilMs === null ? null : new Date(h.untilMs).toISOString(),
      })),
      snoozed_until: snooze === null ? null : new Date(snooze).toISOString(),
      yield: {
        enabled: this.opts.policy.enabled, on_activity: this.opts.policy.onActivity,
        resume_after_idle_minutes: this.opts.policy.resumeAfterIdleMs / 60_000, gpu_threshold_mb: this.opts.policy.gpuThresholdMb,
        last_input_seconds_ago: lastInput === null ? null : Math.round((now - lastInput) / 1000),
      },
      gpus: (this.agent?.gpus() ?? []).map((g) => ({
        index: g.index, name: g.name, memory_mb: g.memory_mb, memory_used_mb: g.memory_used_mb ?? null, other_processes: g.other_processes ?? null,
      })),
      last_error: tap.lastError,
    };
  }
}

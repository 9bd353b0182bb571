// The running agent: owns the connection loop, the attempts it holds, the outbox and the
// presigner, and routes each gateway frame to the attempt it concerns.
import { type AssignMessage, type Gpu, type HostReading, PROTOCOL_VERSION, type ServerMessage } from "../../packages/protocol/src/index.ts";
import { FRAME_COMPRESSION } from "../../packages/protocol/src/frame_codec.ts";
import type { AgentIdentity } from "./runtime/agent_state.ts";
import { AttemptRunner } from "./attempt/attempt_runner.ts";
import { Backoff } from "./session/backoff.ts";
import { type ConnectionEnd, connectionLoop, PERSON_BACKOFF } from "./session/connection_loop.ts";
import { ConnectionStatus } from "./session/connection_status.ts";
import type { Logger } from "./runtime/log.ts";
import { runAsFor } from "./attempt/attempt_account.ts";
import type { JobAccount, OsSeam } from "./os/os_seam.ts";
import { Outbox } from "./session/outbox.ts";
import { Presigner } from "./transfer/presigner.ts";
import { endpointUrl } from "./session/server_url.ts";
import { SessionHub } from "./session/session_hub.ts";
import { readGpus } from "./telemetry/gpu_readings.ts";
import { HostReadings } from "./telemetry/host_readings.ts";
import { Telemetry } from "./telemetry/telemetry.ts";
import { telemetryLoop, type TelemetrySources } from "./telemetry/telemetry_loop.ts";
import type { Timings } from "./runtime/timings.ts";
import { onAbort, raceWith } from "./runtime/timers.ts";
import { AGENT_VERSION } from "./runtime/version.ts";
import { workDirOf } from "./attempt/work_dir.ts";
import { PauseState, type PauseChange } from "./control/pause_state.ts";
import type { YieldWatch } from "./control/yield_watch.ts";
import type { OnActivity } from "./control/yield_policy.ts";

/** How long abandoned attempts get to let go after the stop timeout. */
const ABANDON_WAIT_MS = 2_000;
/** The longest the stop waits for a GPU/host reading in flight to finish. */
const READINGS_STOP_WAIT_MS = 500;
/** The connection loop's wait for the close handshake after the agent closed with 1000. */
const CLOSE_WAIT_MS = 2_000;

/** The longest a stop can take (report window, abandon wait, socket close): a service manager must allow more. */
export function maxStopMs(timings: Timings): number {
  return timings.shutdownMs + ABANDON_WAIT_MS + CLOSE_WAIT_MS + READINGS_STOP_WAIT_MS;
}

/** How jobs run on this agent, decided once at startup (run_command.ts). */
export interface JobSetup {
  /** Folder holding the attempts' work folders, outside the state folder. */
  workRoot: string;
  account: JobAccount;
  /** The part of the agent's environment jobs get (job_env.ts inheritedEnv). */
  inheritedEnv: Record<string, string>;
}

export interface AgentOptions {
  identity: AgentIdentity;
  jobs: JobSetup;
  os: OsSeam;
  log: Logger;
  timings: Timings;
  hostname: string;
  /** The first reading of the GPUs (the telemetry loop reads them again every timings.telemetryMs). */
  gpus: Gpu[];
  /** The first host reading, when there is one. */
  host?: HostReading | null;
  /** Where later readings come from; defaults to nvidia-smi through `os` and this host. */
  sources?: TelemetrySources;
  random?: () => number;
  /**
   * Local control (control/control_service.ts): the pause state every source sets, the
   * yield watch fed with each GPU reading, and what to do on activity. Absent: a pause
   * state of its own in memory (the API's pause only), no automatic yielding.
   */
  control?: { pause: PauseState; watch: YieldWatch | null; onActivity: OnActivity };
}

/** The agent's telemetry sources: nvidia-smi through the OS seam, and this host's work folder. */
export function defaultSources(os: OsSeam, workRoot: string, jobRoots: () => number[]): TelemetrySources {
  const host = new HostReadings(workRoot);
  return { gpus: () => readGpus(os, jobRoots()), host: () => host.read() };
}

export class Agent {
  private readonly attempts = new Map<string, AttemptRunner>();
  /** The own gid of each held attempt, so two live attempts never share one. */
  private readonly attemptGids = new Map<string, number>();
  private readonly runs = new Set<Promise<void>>();
  /** Attempts this process already saw through (reported or dropped), oldest first. */
  private readonly settled = new Set<string>();
  private readonly hub = new SessionHub();
  /** What the agent knows of its network and gateway (status, doctor and the control endpoint read it). */
  readonly connection = new ConnectionStatus();
  private readonly outbox: Outbox;
  private readonly presigner: Presigner;
  private readonly telemetry: Telemetry;
  private accepting = true;
  private readonly pause: PauseState;
  /** The agent-owned pause last sent on the live session (JSON), so each change goes once. */
  private sentPause: string | null = null;

  constructor(private readonly opts: AgentOptions) {
    this.outbox = new Outbox(this.hub, opts.log, opts.timings.outputsAckTimeoutMs);
    this.presigner = new Presigner(this.hub, opts.log, opts.timings.presignTimeoutMs);
    this.telemetry = new Telemetry(opts.gpus, opts.host ?? null);
    this.pause = opts.control?.pause ?? new PauseState(Date.now);
    this.pause.onChange((c) => this.pauseChanged(c));
  }

  /** Whether a gateway session is up now. */
  connected(): boolean {
    return this.hub.live() !== null;
  }

  /** The GPUs as last read. */
  gpus(): Gpu[] {
    return this.telemetry.currentGpus();
  }

  /** Main pids of the jobs running now. */
  jobPids(): number[] {
    return [...this.attempts.values()].map((a) => a.pid()).filter((p): p is number => p !== null);
  }

  /** Attempt ids the agent holds (waiting, running, uploading or reporting). */
  running(): string[] {
    return [...this.attempts.keys()];
  }

  /**
   * Runs until `signal` aborts or a gateway refuses the credential. On abort: stop taking
   * work, end running job trees, report each attempt (agent_stopped) and wait for the acks,
   * all within timings.shutdownMs, then close the socket with 1000.
   */
  async run(signal: AbortSignal): Promise<ConnectionEnd> {
    const { opts } = this;
    const connStop = new AbortController();
    const onStop = () => {
      this.stopAttempts().finally(() => connStop.abort());
    };
    signal.addEventListener("abort", onStop, { once: true });
    if (signal.aborted) onStop();
    const raw = opts.sources ?? defaultSources(opts.os, opts.jobs.workRoot, () => this.jobPids());
    const watch = opts.control?.watch ?? null;
    // Every GPU reading also tells the yield watch whether someone else uses a GPU.
    const sources: TelemetrySources = watch ? { ...raw, gpus: () => raw.gpus().then((g) => (watch.observeGpus(g), g)) } : raw;
    const readings = telemetryLoop(this.telemetry, sources, opts.timings.telemetryMs, opts.log, connStop.signal, opts.random);
    const pauseReports = this.reportPauseEachSession(connStop.signal);
    try {
      const end = await connectionLoop({
        urls: opts.identity.servers.map((s) => endpointUrl(s, "agent")),
        credential: opts.identity.credential,
        log: opts.log,
        hub: this.hub,
        hello: (restarted) => ({
          type: "hello",
          protocol: PROTOCOL_VERSION,
          agent_version: AGENT_VERSION,
          os: opts.os.platformName(),
          hostname: opts.hostname,
          ...this.telemetry.hello(),
          running: this.running(),
          restarted,
          compression: [FRAME_COMPRESSION],
        }),
        running: () => this.running(),
        telemetry: () => this.telemetry.beat(),
        onMessage: (msg) => this.handle(msg),
        backoff: new Backoff({ baseMs: opts.timings.backoffBaseMs, capMs: opts.timings.backoffCapMs, random: opts.random }),
        personBackoff: new Backoff({ ...PERSON_BACKOFF, ...opts.timings.personBackoff, random: opts.random }),
        status: this.connection,
        connectTimeoutMs: opts.timings.connectTimeoutMs,
        welcomeTimeoutMs: opts.timings.welcomeTimeoutMs,
        silenceHeartbeats: opts.timings.silenceHeartbeats,
        random: opts.random,
      }, connStop.signal);
      // A refused credential ends the agent: its jobs cannot be reported any more.
      if (end.kind === "rejected") await this.stopAttempts(false);
      return end;
    } finally {
      signal.removeEventListener("abort", onStop);
      connStop.abort();
      // A reading in flight (nvidia-smi may take seconds on a busy driver) must not hold up the stop.
      await raceWith([readings], new AbortController().signal, READINGS_STOP_WAIT_MS);
      await pauseReports;
    }
  }

  /** Tells each new session the agent-owned pause (the gateway stores it), right after welcome. */
  private async reportPauseEachSession(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const session = await this.hub.next(signal);
      if (!session) return;
      this.sentPause = null;
      this.sendPause();
      const stopped = onAbort(signal);
      await Promise.race([session.ended, stopped.promise]);
      stopped.dispose();
    }
  }

  private sendPause(): void {
    const pause = this.pause.agentOwned();
    const text = JSON.stringify(pause);
    if (text === this.sentPause) return;
    if (this.hub.send({ type: "agent.pause_state", pause })) this.sentPause = text;
  }

  private pauseChanged(c: PauseChange): void {
    // One line per transition, with what holds afterwards (another source may still hold).
    this.opts.log.info(c.kind === "paused" ? "agent paused" : "agent pause lifted", { source: c.source, reason: c.reason, cause: c.cause, pause: this.pause.view() });
    if (c.source !== "api") this.sendPause();
    const onActivity = this.opts.control?.onActivity ?? "stop_taking";
    if (c.kind === "paused" && (c.source === "user_active" || c.source === "gpu_busy") && onActivity === "stop_running") {
      for (const attempt of this.attempts.values()) attempt.yieldToOwner(c.reason ?? c.source);
    }
  }

  /**
   * Stops taking work and ends every attempt's job tree. With `report`, waits up to
   * timings.shutdownMs for their reports to be acknowledged; what is left then (no gateway
   * reachable, a slow upload) is abandoned and its lease decides, as if the agent had died.
   */
  async stopAttempts(report = true): Promise<void> {
    const { log, timings } = this.opts;
    this.accepting = false;
    for (const attempt of this.attempts.values()) report ? attempt.shutdown() : attempt.abandon();
    const never = new AbortController().signal;
    // The window covers the kill grace too: a job tree is never left running because the agent hurried.
    if ((await raceWith([Promise.allSettled([...this.runs])], never, timings.shutdownMs)) !== "timeout") return;
    if (report) {
      log.warn("some attempts did not report in time; leaving them to their leases", { attempts: this.running() });
      for (const attempt of this.attempts.values()) attempt.abandon();
      // Abandoned attempts only have to notice; their kills had the whole window.
      if ((await raceWith([Promise.allSettled([...this.runs])], never, ABANDON_WAIT_MS)) !== "timeout") return;
    }
    log.warn("some attempts did not stop in time", { attempts: this.running() });
  }

  private handle(msg: ServerMessage): void {
    const { log } = this.opts;
    switch (msg.type) {
      case "attempt.assign":
        return this.assign(msg);
      case "attempt.start_granted":
      case "attempt.cancel":
      case "attempt.abort": {
        const attempt = this.attempts.get(msg.attempt_id);
        if (attempt) attempt.handle(msg);
        else log.info(`${msg.type} for an attempt this agent does not hold, ignored`, { attempt_id: msg.attempt_id });
        return;
      }
      case "presign.response":
        return this.presigner.resolve(msg);
      case "attempt.report_ack":
        return this.outbox.ack(msg);
      case "attempt.outputs_ack":
        return this.outbox.ackOutputs(msg);
      case "heartbeat.ack":
        // The connection loop counts every frame for liveness; telemetry learns what the gateway now holds.
        this.telemetry.ack();
        return;
      case "agent.pause":
        // The server stops assigning; the agent holds the API's pause too, so status shows it
        // and an assignment racing the pause is handed back.
        this.pause.hold("api", msg.reason, msg.until ? Date.parse(msg.until) || null : null);
        return;
      case "agent.resume":
        this.pause.release("api");
        return;
      case "error":
        log.warn("gateway reported an error", { code: msg.code, message: msg.message });
        return;
      default:
        log.warn("unexpected frame from gateway", { type: msg.type });
    }
  }

  private assign(msg: AssignMessage): void {
    const { log } = this.opts;
    const fields = { attempt_id: msg.attempt_id, job_id: msg.job_id };
    if (this.attempts.has(msg.attempt_id)) {
      log.info("duplicate assignment ignored", fields);
      return;
    }
    if (this.settled.has(msg.attempt_id)) {
      // An attempt id names one run; running it twice would report two results for it.
      log.warn("assignment of an attempt this agent already finished, ignored", fields);
      return;
    }
    if (!this.accepting) {
      // Nothing runs; saying so lets the server hand it on now rather than a lease later
      // (best effort: if this is lost, the lease still decides).
      log.info("assignment released: agent is stopping", fields);
      this.hub.send({
        type: "attempt.finished",
        attempt_id: msg.attempt_id,
        outcome: "failed",
        exit_code: null,
        error: { code: "agent_stopped", message: "agent stopped before the job started" },
        outputs: [],
      });
      return;
    }
    const held = this.pause.view();
    if (held) {
      // Assigned before the server saw the pause: nothing ran, so it goes back to the queue.
      log.info("assignment released: agent is paused", { ...fields, source: held.source });
      this.hub.send({
        type: "attempt.finished", attempt_id: msg.attempt_id, outcome: "failed", exit_code: null,
        error: { code: "agent_paused", message: `agent is paused (${held.source}) and starts no new job` }, outputs: [],
      });
      return;
    }
    const { jobs } = this.opts;
    const runAs = runAsFor(jobs.account, msg.attempt_id, new Set(this.attemptGids.values()));
    if (runAs) this.attemptGids.set(msg.attempt_id, runAs.gid);
    const runner = new AttemptRunner(msg, {
      dir: workDirOf(jobs.workRoot, msg.attempt_id),
      job: { runAs, inheritedEnv: jobs.inheritedEnv, logon: jobs.account.kind === "logon" ? jobs.account : null },
      hub: this.hub,
      outbox: this.outbox,
      presigner: this.presigner,
      os: this.opts.os,
      log: log.child(fields),
      timings: this.opts.timings,
    });
    this.attempts.set(msg.attempt_id, runner);
    const run = runner.run().finally(() => {
      this.attempts.delete(msg.attempt_id);
      this.attemptGids.delete(msg.attempt_id);
      this.runs.delete(run);
      this.settled.add(msg.attempt_id);
      if (this.settled.size > 1_000) this.settled.delete(this.settled.values().next().value!);
    });
    this.runs.add(run);
  }
}

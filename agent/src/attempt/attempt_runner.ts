// One attempt, from assignment to delivered report. Its states, in order:
//
//   awaiting_grant  folder made, attempt.start_request sent (again after each reconnect);
//                   nothing runs until attempt.start_granted. cancel/abort here: drop
//                   silently, the server has not counted the attempt as started. Agent
//                   stop here: report agent_stopped, which releases the assignment.
//   preparing       inputs downloading.
//   running         the job process runs; progress and live log lines go out; timeout enforced.
//   finishing       the job exited; outputs and logs upload.
//   reporting       the report (outputs in chunks, then attempt.finished) waits in the
//                   outbox until delivered.
//
// Two switches stop it: `kill` ends the job's process tree (cancel, timeout, abort,
// shutdown) and `drop` abandons the attempt without a report (abort: the server already
// decided; abandon: the agent's stop ran out of time, the lease decides). A dropped
// connection is neither: the job keeps running and only the report waits. A shutdown
// kills but still reports (failed/agent_stopped, or canceled when a cancel came first),
// so the job shows its end at once instead of a lease later.
import {
  type AssignMessage,
  DEFAULT_TIMEOUT_SECONDS,
  type ErrorCode,
  type FinishedMessage,
  type OutputFile,
  type StartGrantedMessage,
  type StopMessage,
} from "../../../packages/protocol/src/index.ts";
import { downloadInputs, type UploadResult, uploadResults } from "../transfer/attempt_transfers.ts";
import { attemptEnv, envFlavor } from "./job_env.ts";
import { JobProcess } from "./job_process.ts";
import { errorText, type Logger } from "../runtime/log.ts";
import type { JobAccount, JobRunAs, OsSeam } from "../os/os_seam.ts";
import type { Outbox } from "../session/outbox.ts";
import { buildReport } from "../transfer/output_report.ts";
import type { Presigner } from "../transfer/presigner.ts";
import { progressLoop } from "./progress_loop.ts";
import { LiveLog } from "./live_log.ts";
import { liveLogLoop } from "./live_log_loop.ts";
import type { SessionHub } from "../session/session_hub.ts";
import type { Timings } from "../runtime/timings.ts";
import { deferred, raceWith, sleep } from "../runtime/timers.ts";
import { createWorkDir, giveInputsToJob, removeDir, type WorkDir, writeProcessRecord } from "./work_dir.ts";

export interface AttemptDeps {
  dir: WorkDir;
  /** The attempt's account (null: the agent's own) and what it inherits of the agent's environment. */
  job: { runAs: JobRunAs | null; inheritedEnv: Record<string, string>; logon?: Extract<JobAccount, { kind: "logon" }> | null };
  hub: SessionHub;
  outbox: Outbox;
  presigner: Presigner;
  os: OsSeam;
  log: Logger;
  timings: Timings;
}

type Phase = "awaiting_grant" | "preparing" | "running" | "finishing" | "reporting" | "done";
type Stop = { kind: "cancel" } | { kind: "timeout" } | { kind: "abort"; reason: string } | { kind: "shutdown" } | { kind: "yield"; reason: string };

export class AttemptRunner {
  readonly id: string;
  private phase: Phase = "awaiting_grant";
  /** The job's main process while it runs (its GPU use is the agent's own, not someone else's). */
  private jobPid: number | null = null;
  private stop: Stop | null = null;
  /** Why the running job's tree was killed; null when the job exited on its own. */
  private killedFor: Stop["kind"] | null = null;
  private readonly grant = deferred<"granted" | "stopped">();
  private readonly grantDecided = new AbortController();
  private readonly kill = new AbortController();
  private readonly drop = new AbortController();
  private readonly log: Logger;

  /** The job's main pid while it runs, else null. */
  pid(): number | null {
    return this.jobPid;
  }

  constructor(private readonly assign: AssignMessage, private readonly deps: AttemptDeps) {
    this.id = assign.attempt_id;
    this.log = deps.log;
  }

  /** Routes a gateway frame about this attempt. */
  handle(msg: StartGrantedMessage | StopMessage): void {
    if (msg.type === "attempt.start_granted") {
      if (this.phase === "awaiting_grant" && !this.grant.settled()) this.settleGrant("granted");
      else this.log.debug("duplicate start_granted ignored", { phase: this.phase });
      return;
    }
    if (msg.type === "attempt.abort") {
      // The server already settled this attempt: stop everything, report nothing.
      this.log.info("attempt aborted by gateway", { reason: msg.reason, phase: this.phase });
      this.halt({ kind: "abort", reason: msg.reason }, true);
      return;
    }
    if (this.phase === "awaiting_grant" || this.phase === "preparing" || this.phase === "running") {
      this.log.info("attempt cancel requested", { phase: this.phase });
      this.halt({ kind: "cancel" }, false);
    } else {
      this.log.info("cancel after the job ended, ignored", { phase: this.phase });
    }
  }

  /**
   * Agent shutdown: end the job tree, then report agent_stopped (a cancel or timeout
   * already under way keeps its own outcome). An attempt still waiting for its grant ran
   * nothing; it is reported agent_stopped too, which releases it (see run()).
   */
  shutdown(): void {
    this.halt({ kind: "shutdown" }, false);
  }

  /**
   * The agent yields the workstation to its user (policy stop_running): end the job tree,
   * upload what it wrote, report failed with yielded_to_owner. One still waiting for its
   * grant ran nothing: it is handed back (agent_paused). Later phases are left to finish.
   */
  yieldToOwner(reason: string): void {
    if (this.phase !== "awaiting_grant" && this.phase !== "preparing" && this.phase !== "running") return;
    this.log.info("attempt stopped to yield to the workstation's user", { reason, phase: this.phase });
    this.halt({ kind: "yield", reason }, false);
  }

  /** The agent's stop ran out of time: give up whatever is left (upload, report) without a report. */
  abandon(): void {
    this.halt({ kind: "shutdown" }, true);
  }

  private halt(stop: Stop, drop: boolean): void {
    // A drop (abort, abandon) outranks a cancel or timeout already under way; a shutdown
    // does not: the job was ending for that reason anyway.
    if (!this.stop || (drop && this.stop.kind !== "abort")) this.stop = stop;
    this.settleGrant("stopped");
    this.kill.abort();
    if (drop) this.drop.abort();
  }

  private settleGrant(v: "granted" | "stopped"): void {
    if (this.grant.settled()) return;
    this.grant.resolve(v);
    this.grantDecided.abort();
  }

  /** The attempt's whole life; resolves when it is reported, dropped or abandoned. */
  async run(): Promise<void> {
    const { dir, log } = this.deps;
    try {
      try {
        await createWorkDir(dir, this.deps.job.runAs, this.deps.os);
      } catch (e) {
        // Without a folder nothing can run; the lease expires unstarted and the job is requeued.
        log.error("cannot create work folder; attempt not started", { error: errorText(e) });
        return;
      }
      log.info("attempt assigned", { command: this.assign.command[0], inputs: this.assign.inputs?.length ?? 0 });
      let report: FinishedMessage | null;
      if (await this.awaitGrant()) {
        this.phase = "preparing";
        log.info("attempt started");
        report = await this.execute();
      } else if ((this.stop?.kind === "shutdown" || this.stop?.kind === "yield") && !this.drop.signal.aborted) {
        // Nothing ran, but the gateway holds an assignment for us: say so, and the server
        // hands it to another agent now if its lease was never started (a lease later otherwise).
        log.info("attempt released before start", { reason: this.stopReason() });
        report = this.stop.kind === "yield"
          ? this.finished("failed", null, { code: "agent_paused", message: "agent paused before the job started" }, [])
          : this.finished("failed", null, { code: "agent_stopped", message: "agent stopped before the job started" }, []);
      } else {
        log.info("attempt dropped before start", { reason: this.stopReason() });
        await removeDir(dir.root, log);
        return;
      }
      if (!report) {
        log.info("attempt dropped", { reason: this.stopReason() });
        if (this.stop?.kind !== "shutdown") await removeDir(dir.root, log);
        return;
      }
      this.phase = "reporting";
      log.info("attempt finished", {
        outcome: report.outcome,
        exit_code: report.exit_code,
        error_code: report.error?.code ?? null,
        outputs: report.outputs.length,
      });
      const delivery = await this.deps.outbox.deliver(await buildReport(this.assign.job_id, report), this.drop.signal);
      if (delivery !== "aborted") {
        if (delivery === "accepted") log.info("attempt reported");
        else log.warn("attempt report not accepted: the server had already settled the attempt");
        await removeDir(dir.root, log);
      } else if (this.stop?.kind === "abort") {
        log.info("attempt report dropped", { reason: this.stopReason() });
        await removeDir(dir.root, log);
      } else {
        log.warn("attempt report not delivered before shutdown; work folder kept");
      }
    } catch (e) {
      log.error("attempt failed inside the agent", { error: errorText(e) });
    } finally {
      this.phase = "done";
    }
  }

  private stopReason(): string {
    const s = this.stop;
    if (!s) return "no answer to start_request";
    return s.kind === "abort" || s.kind === "yield" ? s.reason : s.kind;
  }

  /** Sends start_request (again after each reconnect) until granted, stopped or given up. */
  private async awaitGrant(): Promise<boolean> {
    const { hub, log, timings } = this.deps;
    while (!this.grant.settled()) {
      const session = await hub.next(this.grantDecided.signal);
      if (!session) break;
      session.send({ type: "attempt.start_request", attempt_id: this.id });
      log.info("start requested", { session_id: session.id });
      const r = await raceWith([session.ended.then(() => "ended" as const)], this.grantDecided.signal, session.leaseTtlMs * timings.grantTimeoutLeases);
      if (r === "timeout") {
        log.warn("no answer to start_request; giving the attempt up");
        return false;
      }
    }
    return (await this.grant.promise) === "granted";
  }

  private finished(
    outcome: FinishedMessage["outcome"],
    exitCode: number | null,
    error: { code: ErrorCode; message: string } | null,
    outputs: OutputFile[],
  ): FinishedMessage {
    // Lists every output; buildReport splits them into frames that fit.
    return {
      type: "attempt.finished",
      attempt_id: this.id,
      outcome,
      exit_code: exitCode,
      error: error && { code: error.code, message: error.message.slice(0, 2048) },
      outputs,
    };
  }

  /** Inputs, process, uploads; the report to send, or null when the attempt is dropped. */
  private async execute(): Promise<FinishedMessage | null> {
    const { dir, os, log, timings } = this.deps;
    const stopped = () =>
      this.drop.signal.aborted ? "drop" : this.stop?.kind === "cancel" || this.stop?.kind === "shutdown" || this.stop?.kind === "yield" ? this.stop.kind : null;
    const beforeStart = (s: "cancel" | "shutdown" | "yield") =>
      s === "cancel"
        ? this.finished("canceled", null, { code: "canceled", message: "canceled before the job started" }, [])
        : s === "yield"
        ? this.finished("failed", null, { code: "yielded_to_owner", message: "stopped before the job ran to give the workstation back to its user" }, [])
        : this.finished("failed", null, { code: "agent_stopped", message: "agent stopped before the job started" }, []);

    try {
      await downloadInputs(this.assign, dir, os, timings.transfer, log, this.kill.signal);
    } catch (e) {
      const s = stopped();
      if (s === "drop") return null;
      if (s) return beforeStart(s);
      log.error("input download failed", { error: errorText(e) });
      return this.finished("failed", null, { code: "input_download_failed", message: errorText(e) }, []);
    }
    const after = stopped();
    if (after === "drop") return null;
    if (after) return beforeStart(after);

    this.phase = "running";
    let proc: JobProcess;
    const live = new LiveLog(timings.liveLog);
    const { runAs, inheritedEnv } = this.deps.job;
    try {
      await giveInputsToJob(dir, runAs);
      proc = await JobProcess.spawn({
        argv: this.assign.command,
        cwd: dir.root,
        env: attemptEnv({
          flavor: envFlavor(os.platformName()),
          inherited: inheritedEnv,
          home: dir.home,
          tmp: dir.tmp,
          user: runAs?.name ?? this.deps.job.logon?.name ?? null,
          job: this.assign.env ?? {},
          gpus: this.assign.gpus,
          lb: { LB_JOB_ID: this.assign.job_id, LB_ATTEMPT_ID: this.id, LB_INPUT_DIR: dir.inputs, LB_OUTPUT_DIR: dir.outputs },
        }),
        runAs,
        logon: this.deps.job.logon ?? null,
        attemptId: this.id,
        stdoutPath: dir.stdoutLog,
        stderrPath: dir.stderrLog,
        os,
        onOutput: (stream, chunk) => live.push(stream, chunk),
      });
    } catch (e) {
      log.error("spawn failed", { error: errorText(e) });
      this.phase = "finishing";
      return this.finished("failed", null, { code: "spawn_failed", message: errorText(e) }, []);
    }
    await writeProcessRecord(dir, proc.pid, this.id, runAs?.gid ?? null).catch((e) => log.warn("cannot write process.json", { error: errorText(e) }));
    log.info("process started", { pid: proc.pid });
    this.jobPid = proc.pid;

    const status = await this.supervise(proc, live).finally(() => (this.jobPid = null));
    this.phase = "finishing";
    const exitCode = status.signal ? null : status.code;
    log.info("process exited", { exit_code: exitCode, signal: status.signal });
    if (this.drop.signal.aborted) return null;
    if (this.killedFor === "shutdown") {
      // Uploads could outlast the stop timeout (a checkpoint of many GB); the end state
      // matters more than files of a run that did not finish.
      return this.finished("failed", exitCode, { code: "agent_stopped", message: "agent stopped while the job ran; outputs and logs not uploaded" }, []);
    }

    // Whatever goes wrong with the files (an unreadable output, a full disk), the job ran:
    // report it with the upload failure rather than losing the attempt.
    const up = await uploadResults(this.assign, dir, this.deps.presigner, timings.transfer, log, this.drop.signal)
      .catch((e): UploadResult => ({ outputs: [], error: `collecting outputs failed: ${errorText(e)}` }));
    if (this.drop.signal.aborted) return null;

    const stop = this.stop;
    if (stop?.kind === "cancel") return this.finished("canceled", exitCode, { code: "canceled", message: "canceled while running" }, up.outputs);
    if (stop?.kind === "yield") {
      return this.finished("failed", exitCode, { code: "yielded_to_owner", message: `stopped to give the workstation back to its user: ${stop.reason}` }, up.outputs);
    }
    if (stop?.kind === "timeout") {
      return this.finished("failed", exitCode, { code: "timeout", message: `ran past its ${this.timeoutSeconds()} s timeout` }, up.outputs);
    }
    if (status.code !== 0 || status.signal) {
      const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
      return this.finished("failed", exitCode, { code: "exit_nonzero", message: up.error ? `${how}; ${up.error}` : how }, up.outputs);
    }
    if (up.error) return this.finished("failed", exitCode, { code: "output_upload_failed", message: up.error }, up.outputs);
    return this.finished("succeeded", 0, null, up.outputs);
  }

  /** The job's time limit; a missing or nonsensical value falls back to the protocol default rather than firing at once. */
  private timeoutSeconds(): number {
    const t = this.assign.timeout_seconds;
    return typeof t === "number" && Number.isFinite(t) && t > 0 ? t : DEFAULT_TIMEOUT_SECONDS;
  }

  /** Waits for the job to exit while sending progress and live log lines, enforcing the timeout and honouring kill. */
  private async supervise(proc: JobProcess, live: LiveLog): Promise<Deno.CommandStatus> {
    const { os, log, timings, hub } = this.deps;
    const liveStop = new AbortController();
    const liveLog = liveLogLoop({
      attemptId: this.id,
      live,
      flushMs: timings.liveLog.flushMs,
      maxBufferedBytes: timings.liveLog.maxBufferedBytes,
      buffered: () => hub.live()?.bufferedAmount() ?? null,
      send: (msg) => hub.send(msg),
    }, liveStop.signal);
    const progressStop = new AbortController();
    const progress = progressLoop({
      intervalMs: timings.progressIntervalMs,
      lines: proc.lines,
      send: (message) => hub.send({ type: "attempt.progress", attempt_id: this.id, message }),
    }, progressStop.signal);
    const timerStop = new AbortController();
    const limitSeconds = this.timeoutSeconds();
    sleep(limitSeconds * 1000, timerStop.signal).then(() => {
      if (timerStop.signal.aborted) return;
      log.warn("attempt timed out; killing its process tree", { timeout_seconds: limitSeconds });
      this.halt({ kind: "timeout" }, false);
    });
    let killing: Promise<void> | null = null;
    const onKill = () => {
      this.killedFor = this.stop?.kind ?? null;
      log.info("killing process tree", { pid: proc.pid, reason: this.stopReason() });
      killing = os.killTree(proc.pid, timings.killGraceMs, this.deps.job.runAs).catch((e) => log.error("kill failed", { error: errorText(e) }));
    };
    if (this.kill.signal.aborted) onKill();
    else this.kill.signal.addEventListener("abort", onKill, { once: true });
    try {
      return await proc.status;
    } finally {
      timerStop.abort();
      this.kill.signal.removeEventListener("abort", onKill);
      progressStop.abort();
      await progress;
      if (killing) await killing;
      // Background processes the job left behind would hold GPUs after "done".
      await os.killLeftovers(proc.pid, this.deps.job.runAs).catch(() => {});
      await proc.closeLogs(timings.logDrainMs);
      // The job's last lines go out before its report, so a watcher sees them before the final state.
      live.end();
      liveStop.abort();
      const sent = await liveLog;
      // lines: the job's lines that went into frames; frame_lines_lost: lines (summaries too) of frames dropped for want of a session.
      log.info("live log closed", { lines: live.totals.lines, lines_skipped: live.totals.skipped, frames: sent.frames, frame_lines_lost: sent.lost });
    }
  }
}

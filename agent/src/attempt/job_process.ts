// One job's process: spawned with its stdout/stderr streamed into logs/stdout.log and
// logs/stderr.log (Deno.Command can only pipe, not hand a child a file), while the last
// stdout line is tracked for progress reports and both streams feed `onOutput` (the live
// log). The job gets exactly `env` (clearEnv: the agent's own environment never leaks in;
// job_env.ts builds it) and runs as `runAs`. A Windows job account (`logon`) is started
// by the OS seam itself, writing its logs straight to the files; its progress and live
// lines come from tailing logs/stdout.log and logs/stderr.log.
import { isAbsolute, resolve } from "node:path";
import { LineTracker } from "./line_tracker.ts";
import { tailLog } from "./log_tailer.ts";
import type { DirectJob, JobAccount, JobRunAs, OsSeam } from "../os/os_seam.ts";
import type { LogStream } from "../../../packages/protocol/src/index.ts";
import { raceWith } from "../runtime/timers.ts";

export interface SpawnSpec {
  argv: string[];
  cwd: string;
  /** The job's whole environment. */
  env: Record<string, string>;
  /** The attempt's account; null: the agent's own. */
  runAs: JobRunAs | null;
  stdoutPath: string;
  stderrPath: string;
  os: OsSeam;
  /** A Windows job account: started through `os.spawnAsAccount` instead of Deno.Command. */
  logon?: Extract<JobAccount, { kind: "logon" }> | null;
  attemptId: string;
  /** Gets every byte the job writes, by stream, in order (the live log). */
  onOutput?: (stream: LogStream, chunk: Uint8Array) => void;
}

type OnOutput = (stream: LogStream, chunk: Uint8Array) => void;
const ignoreOutput: OnOutput = () => {};

/** How often a tailed log is read for progress and live lines. */
const TAIL_INTERVAL_MS = 250;

export class SpawnError extends Error {
  override name = "SpawnError";
}

/**
 * A program given with a relative path ("./train.sh", "inputs/run.py") is taken relative
 * to the work folder; how the OS would resolve it otherwise differs between platforms.
 */
export function resolveProgram(program: string, cwd: string): string {
  const hasSlash = program.includes("/") || (Deno.build.os === "windows" && program.includes("\\"));
  return hasSlash && !isAbsolute(program) ? resolve(cwd, program) : program;
}

export class JobProcess {
  readonly lines = new LineTracker();
  private readonly logs: { done: Promise<unknown>; cut: () => void };

  /**
   * `drain` settles once the logs are written out; `cut` makes it settle now (pipes cut, or
   * the tail's last read), for when a background grandchild holds a pipe open forever.
   */
  private constructor(
    readonly pid: number,
    private readonly exit: Promise<Deno.CommandStatus>,
    drain: (lines: LineTracker) => { done: Promise<unknown>; cut: () => void },
  ) {
    this.logs = drain(this.lines);
  }

  /** Streams a Deno child's pipes into the log files, tapping stdout for progress lines and both for the live log. */
  private static piped(child: Deno.ChildProcess, stdout: Deno.FsFile, stderr: Deno.FsFile, onOutput: OnOutput): JobProcess {
    return new JobProcess(child.pid, child.status, (lines) => {
      const tap = (stream: LogStream) =>
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            if (stream === "stdout") lines.push(chunk);
            onOutput(stream, chunk);
            ctl.enqueue(chunk);
          },
        });
      const stop = new AbortController();
      const opts = { signal: stop.signal };
      const done = Promise.allSettled([
        child.stdout.pipeThrough(tap("stdout")).pipeTo(stdout.writable, opts),
        child.stderr.pipeThrough(tap("stderr")).pipeTo(stderr.writable, opts),
      ]);
      return { done, cut: () => stop.abort() };
    });
  }

  /** Follows a job that writes its own log files: progress and live lines come from tailing them. */
  private static tailed(job: DirectJob, stdoutPath: string, stderrPath: string, onOutput: OnOutput): JobProcess {
    return new JobProcess(job.pid, job.status, (lines) => {
      const stop = new AbortController();
      const done = Promise.allSettled([
        tailLog({ path: stdoutPath, intervalMs: TAIL_INTERVAL_MS, onBytes: (b) => (lines.push(b), onOutput("stdout", b)) }, stop.signal),
        tailLog({ path: stderrPath, intervalMs: TAIL_INTERVAL_MS, onBytes: (b) => onOutput("stderr", b) }, stop.signal),
      ]);
      // The job writes the file itself: once it exited, one last read takes what it wrote.
      job.status.then(() => stop.abort(), () => stop.abort());
      return { done, cut: () => stop.abort() };
    });
  }

  private static async spawnAsAccount(spec: SpawnSpec, logon: Extract<JobAccount, { kind: "logon" }>): Promise<JobProcess> {
    if (!spec.os.spawnAsAccount) throw new SpawnError(`cannot start jobs as "${logon.name}" on this OS`);
    try {
      const job = await spec.os.spawnAsAccount({
        argv: spec.argv,
        cwd: spec.cwd,
        env: spec.env,
        stdoutPath: spec.stdoutPath,
        stderrPath: spec.stderrPath,
        attemptId: spec.attemptId,
        account: logon,
      });
      return JobProcess.tailed(job, spec.stdoutPath, spec.stderrPath, spec.onOutput ?? ignoreOutput);
    } catch (e) {
      throw new SpawnError(`cannot start "${spec.argv[0]}" as "${logon.name}": ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Spawns the job; SpawnError when the program cannot be started (not found, not executable). */
  static async spawn(spec: SpawnSpec): Promise<JobProcess> {
    const [program, ...args] = spec.argv;
    if (!program) throw new SpawnError("command is empty");
    if (spec.logon) return await JobProcess.spawnAsAccount(spec, spec.logon);
    const stdout = await Deno.open(spec.stdoutPath, { write: true, create: true, truncate: true });
    const stderr = await Deno.open(spec.stderrPath, { write: true, create: true, truncate: true });
    let child: Deno.ChildProcess;
    try {
      const start = spec.os.jobSpawn(resolveProgram(program, spec.cwd), args, spec.env, spec.runAs);
      child = new Deno.Command(start.program, {
        args: start.args,
        cwd: spec.cwd,
        clearEnv: true,
        env: spec.env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        ...start.options,
      }).spawn();
    } catch (e) {
      stdout.close();
      stderr.close();
      const why = e instanceof Deno.errors.NotFound ? "program not found" : e instanceof Error ? e.message : String(e);
      throw new SpawnError(`cannot start "${program}": ${why}`);
    }
    return JobProcess.piped(child, stdout, stderr, spec.onOutput ?? ignoreOutput);
  }

  /** The process's exit; its children may outlive it (see OsSeam.killLeftovers). */
  get status(): Promise<Deno.CommandStatus> {
    return this.exit;
  }

  /**
   * Waits for the log pipes to drain after exit. A background grandchild can hold a pipe
   * open forever, so after `graceMs` the pipes are cut and the log files closed.
   */
  async closeLogs(graceMs: number): Promise<void> {
    const r = await raceWith([this.logs.done], new AbortController().signal, graceMs);
    if (r === "timeout") {
      this.logs.cut();
      await this.logs.done;
    }
  }
}

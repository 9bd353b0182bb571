// One job's process: spawned with its stdout/stderr streamed into logs/stdout.log and
// logs/stderr.log (Deno.Command can only pipe, not hand a child a file), while the last
// stdout line is tracked for progress reports. The job gets exactly `env` (clearEnv: the
// agent's own environment never leaks in; job_env.ts builds it) and runs as `runAs`.
import { isAbsolute, resolve } from "node:path";
import { LineTracker } from "./line_tracker.ts";
import type { JobRunAs, OsSeam } from "./os/os_seam.ts";
import { raceWith } from "./timers.ts";

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
}

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
  private readonly pipeStop = new AbortController();
  private readonly pipes: Promise<unknown>;

  private constructor(private readonly child: Deno.ChildProcess, stdout: Deno.FsFile, stderr: Deno.FsFile) {
    const lines = this.lines;
    const tap = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        lines.push(chunk);
        ctl.enqueue(chunk);
      },
    });
    const opts = { signal: this.pipeStop.signal };
    this.pipes = Promise.allSettled([
      child.stdout.pipeThrough(tap).pipeTo(stdout.writable, opts),
      child.stderr.pipeTo(stderr.writable, opts),
    ]);
  }

  /** Spawns the job; SpawnError when the program cannot be started (not found, not executable). */
  static async spawn(spec: SpawnSpec): Promise<JobProcess> {
    const [program, ...args] = spec.argv;
    if (!program) throw new SpawnError("command is empty");
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
    return new JobProcess(child, stdout, stderr);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The process's exit; its children may outlive it (see OsSeam.killLeftovers). */
  get status(): Promise<Deno.CommandStatus> {
    return this.child.status;
  }

  /**
   * Waits for the log pipes to drain after exit. A background grandchild can hold a pipe
   * open forever, so after `graceMs` the pipes are cut and the log files closed.
   */
  async closeLogs(graceMs: number): Promise<void> {
    const r = await raceWith([this.pipes], new AbortController().signal, graceMs);
    if (r === "timeout") {
      this.pipeStop.abort();
      await this.pipes;
    }
  }
}

// CLI entry point: parse arguments, wire real dependencies, exit with the command's code.
// Exit codes: 0 ok, 1 failure, 2 usage error, 3 credential refused/revoked (run),
// 4 no agent runs on the state folder (pause, resume, snooze, idle-reporter).
import { resolve } from "node:path";
import { type JobFlags, parseCliArgs, TOKEN_FROM_STDIN, USAGE, UsageError } from "./cli/cli_args.ts";
import { enrollCommand } from "./cli/enroll.ts";
import { takeLifeline } from "./runtime/lifeline.ts";
import { createLogger, errorText, type Logger, stdoutSink } from "./runtime/log.ts";
import { logFilePath, RotatingLogFile, teeSink } from "./runtime/log_file.ts";
import { logsCommand } from "./cli/logs.ts";
import { currentOs, currentServiceSeam } from "./os/current.ts";
import { serviceCommand } from "./cli/service_command.ts";
import { doctorCommand } from "./doctor/doctor_command.ts";
import { runCommand } from "./cli/run_command.ts";
import { statusCommand } from "./cli/status.ts";
import { pauseCommand, resumeCommand, snoozeCommand } from "./cli/control_commands.ts";
import { idleReporterCommand } from "./cli/idle_reporter.ts";
import { DEFAULT_TIMINGS } from "./runtime/timings.ts";

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

function absoluteWorkDir(jobs: JobFlags): JobFlags {
  return { ...jobs, workDir: jobs.workDir === null ? null : resolve(jobs.workDir) };
}

/** The first line of stdin: `enroll --token -` reads the token there, out of argv and history. */
async function tokenFromStdin(): Promise<string> {
  const text = await new Response(Deno.stdin.readable).text();
  const token = text.split(/\r?\n/)[0]?.trim() ?? "";
  if (token === "") throw new UsageError("--token - read no token from stdin");
  return token;
}

/**
 * The service's logger: stdout (the wrapper collects it) and <state>/logs/agent.log, rotated.
 * A log file that cannot be opened (a read-only state folder) leaves stdout alone, said once.
 */
function fileLogger(stateDir: string, limits: { maxBytes: number; keep: number }, stdoutLog: Logger): { log: Logger; file: RotatingLogFile | null } {
  const file = new RotatingLogFile(logFilePath(stateDir), limits);
  try {
    file.open();
  } catch (e) {
    stdoutLog.warn("cannot write the agent log file; logging to stdout only", { path: file.path, error: errorText(e) });
    return { log: stdoutLog, file: null };
  }
  return { log: createLogger(teeSink(stdoutSink, file.sink)), file };
}

/** `logs`: prints to stdout; -f runs until Ctrl-C (or SIGTERM). */
async function followLogs(stateDir: string, lines: number, follow: boolean): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  if (follow) { for (const s of signals) Deno.addSignalListener(s, onSignal); }
  try {
    return await logsCommand({
      stateDir,
      lines,
      follow,
      signal: stop.signal,
      write: (chunk) => {
        let off = 0;
        while (off < chunk.length) off += Deno.stdout.writeSync(chunk.subarray(off));
      },
      warn: (message) => console.error(message),
    });
  } finally {
    if (follow) { for (const s of signals) Deno.removeSignalListener(s, onSignal); }
  }
}

/** `parentPid`: the wrapper to live and die with (lifeline.ts); null without one. */
export async function main(argv: string[], parentPid: number | null = null): Promise<number> {
  const log = createLogger();
  try {
    const cmd = parseCliArgs(argv, { LB_ENROLL_TOKEN: Deno.env.get("LB_ENROLL_TOKEN") });
    const os = currentOs();
    switch (cmd.command) {
      case "help":
        console.log(USAGE);
        return 0;
      // The state and work folders are made absolute once, here: jobs get LB_INPUT_DIR and
      // LB_OUTPUT_DIR under the work folder and must see absolute paths whatever folder the
      // agent was started from.
      case "enroll":
        if (cmd.token === TOKEN_FROM_STDIN) cmd.token = await tokenFromStdin();
        return await enrollCommand({ ...cmd, stateDir: resolve(cmd.stateDir), jobs: absoluteWorkDir(cmd.jobs) }, { os, log, hostname });
      case "run": {
        const stateDir = resolve(cmd.stateDir);
        const { log: runLog, file } = fileLogger(stateDir, cmd.logFile, log);
        try {
          return await runCommand(
            { stateDir, servers: cmd.servers, jobs: absoluteWorkDir(cmd.jobs), proxy: cmd.proxy, yieldFlags: cmd.yieldFlags, controlPort: cmd.controlPort },
            { os, log: runLog, timings: DEFAULT_TIMINGS, hostname, parentPid },
          );
        } finally {
          file?.close();
        }
      }
      case "status":
        return await statusCommand(resolve(cmd.stateDir), os, stdoutSink);
      case "logs":
        return await followLogs(resolve(cmd.stateDir), cmd.lines, cmd.follow);
      case "service":
        return await serviceCommand(cmd, { seam: currentServiceSeam(), execPath: Deno.execPath(), print: (l) => console.log(l) });
      case "doctor":
        return await doctorCommand(cmd.stateDir, { os, seam: currentServiceSeam(), print: (l) => console.log(l) });
      case "pause":
        return await pauseCommand({ ...cmd, stateDir: resolve(cmd.stateDir) }, stdoutSink);
      case "resume":
        return await resumeCommand({ stateDir: resolve(cmd.stateDir) }, stdoutSink);
      case "snooze":
        return await snoozeCommand({ ...cmd, stateDir: resolve(cmd.stateDir) }, stdoutSink);
      case "idle-reporter":
        return await idleReporterCommand({ stateDir: resolve(cmd.stateDir) }, { os, log });
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n${USAGE}`);
      return 2;
    }
    log.error("agent failed", { error: errorText(e) });
    return 1;
  }
}

if (import.meta.main) {
  const { parentPid, argv } = takeLifeline(Deno.args);
  Deno.exit(await main(argv, parentPid));
}

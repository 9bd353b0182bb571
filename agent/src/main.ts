// CLI entry point: parse arguments, wire real dependencies, exit with the command's code.
// Exit codes: 0 ok, 1 failure, 2 usage error, 3 credential refused/revoked (run).
import { resolve } from "node:path";
import { type JobFlags, parseCliArgs, TOKEN_FROM_STDIN, USAGE, UsageError } from "./cli_args.ts";
import { enrollCommand } from "./enroll.ts";
import { takeLifeline } from "./lifeline.ts";
import { createLogger, errorText, stdoutSink } from "./log.ts";
import { currentOs } from "./os/current.ts";
import { runCommand } from "./run_command.ts";
import { statusCommand } from "./status.ts";
import { DEFAULT_TIMINGS } from "./timings.ts";

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
      case "run":
        return await runCommand(
          { stateDir: resolve(cmd.stateDir), servers: cmd.servers, jobs: absoluteWorkDir(cmd.jobs) },
          { os, log, timings: DEFAULT_TIMINGS, hostname, parentPid },
        );
      case "status":
        return await statusCommand(resolve(cmd.stateDir), os, stdoutSink);
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

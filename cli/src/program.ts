// The command line of `lb`: commander parses, each command's file does the work. Every
// command takes --json; every failure ends in one of the exit codes of exit_codes.ts.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { ApiClient } from "./api_client.ts";
import { resolveLogin } from "./config_file.ts";
import { CliError, EXIT } from "./exit_codes.ts";
import { createOutput, reportError, type Output } from "./output.ts";
import { agents, enrollmentToken, setPaused } from "./commands/agents.ts";
import { download } from "./commands/download.ts";
import { cancel, list, status } from "./commands/jobs.ts";
import { login } from "./commands/login.ts";
import { logs } from "./commands/logs.ts";
import { submit } from "./commands/submit.ts";
import { createToken, listTokens, revokeToken } from "./commands/tokens.ts";

function wholeNumber(min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function pair(what: string) {
  return (raw: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = raw.indexOf("=");
    if (eq <= 0) throw new InvalidArgumentError(`expected ${what}=value, got "${raw}"`);
    return { ...previous, [raw.slice(0, eq)]: raw.slice(eq + 1) };
  };
}

function collect(raw: string, previous: string[] = []): string[] {
  return [...previous, raw];
}

/** Runs `lb` with `argv` (without node and script) and returns the exit code. */
export async function runLb(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  let json = argv.includes("--json");
  const program = new Command("lb")
    .description("LabBridge: run jobs on the lab's GPU workstations")
    .option("--json", "print JSON for scripts instead of text for people")
    .showHelpAfterError("(run lb <command> --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  /** Wraps an action: logged-in client, output, and exit code. */
  function act<A extends unknown[]>(fn: (api: ApiClient, out: Output, ...args: A) => Promise<number | void>) {
    return async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      json = Boolean(cmd.optsWithGlobals().json);
      const out = createOutput(json);
      const { server, token } = await resolveLogin();
      exitCode = (await fn(new ApiClient(server, token), out, ...(args.slice(0, -1) as A))) ?? EXIT.ok;
    };
  }

  program
    .command("login")
    .description("store the API server and your token (read from LB_TOKEN, stdin or a prompt) in your config file, mode 0600")
    .requiredOption("--server <url>", "API base URL, e.g. http://127.0.0.1:8080")
    .option("--token-stdin", "read the token from standard input")
    .action(async (opts: { server: string; tokenStdin?: boolean }, cmd: Command) => {
      json = Boolean(cmd.optsWithGlobals().json);
      await login(opts, createOutput(json));
    });

  program
    .command("submit")
    .description("upload local inputs straight to the store and submit a job: lb submit [options] -- <command…>")
    .argument("<command...>", "the job's command line (after --)")
    .option("--name <name>", "job name")
    .option("--input <file-or-dir>", "a local file or folder for the job's input folder (repeatable)", collect, [])
    .option("--gpus <n>", "GPUs the job needs to itself", wholeNumber(0, 64))
    .option("--label <k=v>", "an agent label the job requires (repeatable)", pair("label"), {})
    .option("--env <K=V>", "an environment variable for the job (repeatable)", pair("variable"), {})
    .option("--os <os>", "windows, linux or macos")
    .option("--timeout <seconds>", "job timeout", wholeNumber(1, 30 * 86400))
    .option("--max-attempts <n>", "attempts allowed (a started attempt is never re-run unless this is over 1)", wholeNumber(1, 100))
    .option("--priority <n>", "order among your own jobs, -10..10", wholeNumber(-10, 10))
    .option("--idempotency-key <key>", "reuse a key to make a re-run of the same submit return the first job")
    .option("--parallel <n>", "parts uploaded at once", wholeNumber(1, 64), 4)
    .option("-f, --follow", "follow the job's logs until it ends; exit 5 when it does not succeed")
    .action(act((api, out, command: string[], opts: Parameters<typeof submit>[2]) => submit(api, command, opts, out)));

  program
    .command("logs")
    .description("print a job's logs; -f follows them live until the job ends")
    .argument("<job>", "job id")
    .option("-f, --follow", "follow live log lines until the job ends")
    .option("--all-attempts", "every attempt's logs, not only the latest")
    .action(act((api, out, job: string, opts: { follow?: boolean; allAttempts?: boolean }) => logs(api, job, opts, out)));

  program
    .command("status")
    .description("a job's state, queue position and reason, and attempts")
    .argument("<job>", "job id")
    .action(act((api, out, job: string) => status(api, job, out)));

  program
    .command("ls")
    .description("your jobs, newest first")
    .option("--state <state>", "only jobs in this state")
    .option("--name-prefix <prefix>", "only jobs whose name starts so")
    .option("--limit <n>", "at most this many", wholeNumber(1, 100_000), 50)
    .action(act((api, out, opts: { state?: string; namePrefix?: string; limit: number }) => list(api, opts, out)));

  program
    .command("cancel")
    .description("cancel a job (a running one is stopped on its agent)")
    .argument("<job>", "job id")
    .action(act((api, out, job: string) => cancel(api, job, out)));

  program
    .command("download")
    .description("download a job's outputs, each checked by size and sha256")
    .argument("<job>", "job id")
    .argument("[dir]", "target folder (default: the job id)")
    .action(act((api, out, job: string, dir: string | undefined) => download(api, job, dir, out)));

  program.command("agents").description("the lab's agents").action(act((api, out) => agents(api, out)));

  program
    .command("enroll-token")
    .description("make a one-use enrollment token for a new agent (admin), e.g. LB_ENROLL_TOKEN=$(lb enroll-token)")
    .option("--label <k=v>", "a label the agent gets (repeatable)", pair("label"), {})
    .option("--ttl <seconds>", "how long it may be used", wholeNumber(60, 7 * 86400))
    .action(act((api, out, opts: { label: Record<string, string>; ttl?: number }) => enrollmentToken(api, opts, out)));

  program
    .command("pause")
    .description("give an agent no new work (admin)")
    .argument("<agent>", "agent id")
    .option("--reason <text>", "why, shown in lb agents")
    .option("--stop-running", "also stop the jobs it runs")
    .action(act((api, out, agent: string, opts: { reason?: string; stopRunning?: boolean }) => setPaused(api, agent, true, opts, out)));

  program
    .command("resume")
    .description("let a paused agent take work again (admin)")
    .argument("<agent>", "agent id")
    .action(act((api, out, agent: string) => setPaused(api, agent, false, {}, out)));

  const tokens = program.command("tokens").description("API tokens: list, create, revoke");
  tokens.command("list").description("tokens (an admin sees all, a user their own)").action(act((api, out) => listTokens(api, out)));
  tokens
    .command("create")
    .description("mint a token (admin); it is printed once")
    .requiredOption("--owner <owner>", "who the token acts for")
    .addOption(new Option("--role <role>", "its role").choices(["user", "admin"]).default("user"))
    .option("--name <name>", "a name to recognise it by, e.g. laptop")
    .option("--ttl <seconds>", "lifetime", wholeNumber(60, 10 * 365 * 86400))
    .action(act((api, out, opts: { owner: string; role: string; name?: string; ttl?: number }) => createToken(api, opts, out)));
  tokens
    .command("revoke")
    .description("revoke a token at once")
    .argument("<id>", "token id")
    .action(act((api, out, id: string) => revokeToken(api, id, out)));

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not failures; every other parse error is a usage error.
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help" ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      reportError(err, json);
      return err.exitCode;
    }
    reportError(new CliError(`Unexpected error: ${(err as Error)?.stack ?? String(err)}`, EXIT.api), json);
    return EXIT.api;
  }
}

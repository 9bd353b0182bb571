// Decides, once at `run` start, how this agent runs jobs: the work folder (outside the
// state folder), the job account, and what of the agent's environment jobs inherit.
// Everything an admin can get wrong here fails the start with a message that says what to
// change, rather than every job failing later.
import type { JobSetup } from "../agent.ts";
import { type AgentIdentity, DEFAULT_JOB_USER, defaultWorkRoot, workRootProblem } from "../runtime/agent_state.ts";
import type { JobFlags } from "../cli/cli_args.ts";
import { envFlavor, inheritedEnv, missingPassEnv } from "./job_env.ts";
import type { Logger } from "../runtime/log.ts";
import type { OsSeam } from "../os/os_seam.ts";
import { prepareWorkRoot, workRootReachProblem } from "./work_dir.ts";

export class JobSetupError extends Error {
  override name = "JobSetupError";
}

/** The job settings in force: a `run` flag wins over agent.json, which wins over the default. */
export function jobSettings(stateDir: string, identity: AgentIdentity, flags: JobFlags): { workRoot: string; jobUser: string; passEnv: string[] } {
  return {
    workRoot: flags.workDir ?? identity.work_dir ?? defaultWorkRoot(stateDir),
    jobUser: flags.jobUser ?? identity.job_user ?? DEFAULT_JOB_USER,
    passEnv: flags.passEnv ?? identity.pass_env ?? [],
  };
}

export interface SetUpJobsArgs {
  stateDir: string;
  workRoot: string;
  jobUser: string;
  passEnv: string[];
  /** The agent's own environment (Deno.env.toObject()). */
  agentEnv: Record<string, string>;
}

/** Resolves the account, checks and creates the work folder; JobSetupError when jobs could not run. */
export async function setUpJobs(args: SetUpJobsArgs, os: OsSeam, log: Logger): Promise<JobSetup> {
  const problem = workRootProblem(args.stateDir, args.workRoot);
  if (problem) throw new JobSetupError(problem);
  let resolved;
  try {
    resolved = await os.resolveJobAccount(args.jobUser, args.stateDir);
  } catch (e) {
    throw new JobSetupError(e instanceof Error ? e.message : String(e));
  }
  const { account, warnings } = resolved;
  for (const w of warnings) log.warn(w, { job_user: args.jobUser });
  const reach = await workRootReachProblem(args.workRoot, account);
  if (reach) throw new JobSetupError(reach);
  await prepareWorkRoot(args.workRoot, account, os);
  const flavor = envFlavor(os.platformName());
  const missing = missingPassEnv(args.agentEnv, args.passEnv, flavor);
  if (missing.length > 0) log.warn("--pass-env names variables the agent's environment does not hold", { missing });
  if (account.kind === "separate") {
    log.info("jobs run as a separate account", { job_user: account.name, uid: account.uid, groups: account.groups, work_dir: args.workRoot });
  } else if (account.kind === "logon") {
    log.info("jobs run as a separate account", { job_user: account.name, work_dir: args.workRoot });
  } else {
    log.warn(`jobs run as the agent's own account: ${account.reason}`, { work_dir: args.workRoot });
  }
  return { workRoot: args.workRoot, account, inheritedEnv: inheritedEnv(args.agentEnv, args.passEnv, flavor) };
}

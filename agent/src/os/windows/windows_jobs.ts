// The Windows half of "jobs are not trusted with the agent": which account jobs run as,
// and starting them as it. The installer (docs/decisions/0010-windows-job-account.md)
// leaves job-account.json in the state folder; with it, every job is logged on as that
// account and started by spawnAsUser inside its Job Object. Without it, an agent running
// as LocalSystem refuses to run jobs (they would run as SYSTEM), and one started from a
// user's shell runs them as that user, saying so.
import { join } from "node:path";
import type { DirectJob, DirectJobSpec, JobAccount } from "../os_seam.ts";
import { JOB_ACCOUNT_FILE, readJobAccount } from "./job_account_file.ts";
import type { JobTable } from "./job_object.ts";
import type { Win32Load } from "./kernel32.ts";
import { spawnAsUser } from "./spawn_as_user.ts";
import type { RunProgram } from "./work_folder_acl.ts";

/**
 * Whether this process is LocalSystem. A service under LocalSystem has USERNAME
 * `<COMPUTERNAME>$` and its profile in `…\config\systemprofile`; either one is enough,
 * since an ordinary account can have neither.
 */
export function isLocalSystem(env: Record<string, string | undefined>): boolean {
  const user = env.USERNAME ?? env.username ?? "";
  const profile = (env.USERPROFILE ?? env.userprofile ?? "").toLowerCase();
  return user.endsWith("$") || profile.endsWith("\\config\\systemprofile");
}

/** The account jobs run as on Windows, from the installer's file in `stateDir`. */
export async function resolveWindowsJobAccount(
  wanted: string,
  stateDir: string,
  env: Record<string, string | undefined>,
): Promise<{ account: JobAccount; warnings: string[] }> {
  const accountFile = join(stateDir, JOB_ACCOUNT_FILE);
  const installed = await readJobAccount(stateDir);
  if (installed) {
    const warnings = installed.user.toLowerCase() === wanted.toLowerCase()
      ? []
      : [`--job-user "${wanted}" differs from the installed job account "${installed.user}"; jobs run as "${installed.user}"`];
    return { account: { kind: "logon", name: installed.user, accountFile }, warnings };
  }
  if (isLocalSystem(env)) {
    throw new Error(`no job account is installed (${accountFile} is missing), and jobs never run as SYSTEM: run "labbridge-agent service install" again`);
  }
  return {
    account: { kind: "agent", reason: `the agent is not a service (no ${JOB_ACCOUNT_FILE}), so jobs run as the account that started it` },
    warnings: [],
  };
}

/** Starts a job as the installed account; the password is read again for each job, so a rotated one is used at once. */
export async function spawnAsInstalledAccount(
  spec: DirectJobSpec,
  deps: { win32: () => Win32Load; jobs: JobTable; run?: RunProgram },
): Promise<DirectJob> {
  const stateDir = spec.account.accountFile.slice(0, -JOB_ACCOUNT_FILE.length - 1);
  const account = await readJobAccount(stateDir);
  if (!account) throw new Error(`the job account file "${spec.account.accountFile}" is gone`);
  const load = deps.win32();
  if (!load.ok) throw new Error(`cannot start a job as "${account.user}": ${load.reason}`);
  const proc = await spawnAsUser({ ...spec, account }, { win32: load.win32, jobs: deps.jobs, run: deps.run });
  return { pid: proc.pid, status: proc.status };
}

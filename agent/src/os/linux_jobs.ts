// Linux side of running a job as the job account. When the agent runs as root, every job
// runs as the job account's uid with a group of its attempt's own (attempt_account.ts)
// and the account's supplementary groups. Deno.Command can set uid and gid but drops every
// supplementary group, so where util-linux's setpriv exists the job is started through it
// (`setpriv --reuid --regid --groups -- program`): setpriv execs the program in place, so
// the pid, the session and the process group stay the job's. Without setpriv, Deno's
// uid/gid are used and the job gets no supplementary groups (a warning at startup says so).
import { dirname, join } from "node:path";
import type { JobAccount, JobRunAs, JobSpawn } from "./os_seam.ts";
import { parseGroup, pickJobAccount, supplementaryGroups } from "./posix_accounts.ts";

const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];

function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** setpriv's path, or null where util-linux's setpriv is not installed. */
export function findSetpriv(): string | null {
  return SETPRIV_PATHS.find(isExecutableFile) ?? null;
}

/** Whether `st` grants `bit` (1 = x, 4 = r) to a process running as `runAs`, by the owner/group/other rule. */
function grants(st: Deno.FileInfo, runAs: JobRunAs, bit: number): boolean {
  const mode = st.mode ?? 0;
  if (st.uid === runAs.uid) return ((mode >> 6) & bit) !== 0;
  if (st.gid !== null && (st.gid === runAs.gid || runAs.groups.includes(st.gid))) return ((mode >> 3) & bit) !== 0;
  return (mode & bit) !== 0;
}

/** Whether the job could execute `path`: a file it may execute, behind folders it may pass through. */
function jobMayExecute(path: string, runAs: JobRunAs): boolean {
  try {
    const st = Deno.statSync(path);
    if (!st.isFile || !grants(st, runAs, 1)) return false;
    for (let dir = dirname(path);; dir = dirname(dir)) {
      if (!grants(Deno.statSync(dir), runAs, 1)) return false;
      if (dirname(dir) === dir) return true;
    }
  } catch {
    return false;
  }
}

/**
 * Where the job would find `program`, looking as execvp does but with the job's rights: a
 * PATH folder only root may enter (/root/.local/bin in a root shell's PATH) is passed over,
 * as it would be for the job. A program with a slash (already absolute) is taken as it is.
 * Throws NotFound (spawn_failed: program not found) or PermissionDenied.
 */
export function findProgramFor(program: string, path: string | undefined, runAs: JobRunAs): string {
  if (program.includes("/")) {
    if (jobMayExecute(program, runAs)) return program;
    if (fileExists(program)) {
      throw new Deno.errors.PermissionDenied(`the job account "${runAs.name}" may not execute "${program}"`);
    }
    throw new Deno.errors.NotFound(`"${program}" does not exist`);
  }
  for (const dir of (path ?? "/usr/local/bin:/usr/bin:/bin").split(":")) {
    if (dir && jobMayExecute(join(dir, program), runAs)) return join(dir, program);
  }
  throw new Deno.errors.NotFound(`"${program}" is not on the job's PATH`);
}

function fileExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

export async function resolveJobAccount(wanted: string): Promise<{ account: JobAccount; warnings: string[] }> {
  if (Deno.uid() !== 0) {
    return {
      account: { kind: "agent", reason: "the agent does not run as root, so jobs run as the agent's own account and can read its credential" },
      warnings: [],
    };
  }
  const passwd = await Deno.readTextFile("/etc/passwd");
  const groupText = await Deno.readTextFile("/etc/group").catch(() => "");
  const { account, warning } = pickJobAccount(passwd, wanted);
  const warnings = warning ? [warning] : [];
  const groups = supplementaryGroups(parseGroup(groupText), account);
  if (!findSetpriv()) warnings.push("setpriv not found (util-linux): jobs get no supplementary groups, GPU device groups included");
  return { account: { kind: "separate", name: account.name, uid: account.uid, gid: account.gid, groups }, warnings };
}

export function jobSpawn(program: string, args: string[], env: Record<string, string>, runAs: JobRunAs | null): JobSpawn {
  if (!runAs) return { program, args, options: { detached: true } };
  // Looked up here with the job's rights: setpriv would report a missing program only as
  // exit code 127 (a typo must still be spawn_failed), and Deno would look it up as root.
  const resolved = findProgramFor(program, env.PATH, runAs);
  const setpriv = findSetpriv();
  if (!setpriv) return { program: resolved, args, options: { detached: true, uid: runAs.uid, gid: runAs.gid } };
  const groups = runAs.groups.length > 0 ? `--groups=${runAs.groups.join(",")}` : "--clear-groups";
  return { program: setpriv, args: [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, groups, "--", resolved, ...args], options: { detached: true } };
}

export async function ownFolder(path: string, runAs: JobRunAs | null, mode: number): Promise<void> {
  if (!runAs) {
    // Same account: owner-only keeps other local users out; the job itself can read everything.
    await Deno.chmod(path, mode & 0o700);
    return;
  }
  // The agent keeps ownership: the job account's uid is shared by all attempts, the group is not.
  await Deno.chown(path, null, runAs.gid);
  await Deno.chmod(path, mode);
}

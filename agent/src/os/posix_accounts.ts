// Reads OS accounts from /etc/passwd and /etc/group text (pure, so it is unit-tested
// without touching the machine). The agent never shells out to `id` or `getent`: the two
// files are the whole answer for the local accounts a lab admin creates for jobs. Accounts
// that live only in LDAP/SSSD are not seen; the README says so.

export interface PosixAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface PosixGroup {
  name: string;
  gid: number;
  members: string[];
}

/** Parses /etc/passwd; malformed lines (and NIS `+`/`-` entries) are skipped. */
export function parsePasswd(text: string): PosixAccount[] {
  const accounts: PosixAccount[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || !f[0] || f[0].startsWith("+") || f[0].startsWith("-")) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    accounts.push({ name: f[0], uid, gid, home: f[5] ?? "" });
  }
  return accounts;
}

/** Parses /etc/group; malformed lines are skipped. */
export function parseGroup(text: string): PosixGroup[] {
  const groups: PosixGroup[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || !f[0] || !/^\d+$/.test(f[2]!)) continue;
    groups.push({ name: f[0], gid: Number(f[2]), members: f[3]!.split(",").map((m) => m.trim()).filter((m) => m !== "") });
  }
  return groups;
}

/** The account jobs run as when `--job-user` names none that exists. */
export const FALLBACK_JOB_USER = "nobody";

export class JobAccountError extends Error {
  override name = "JobAccountError";
}

/**
 * Picks the job account named `wanted` from the passwd text, falling back to `nobody` (with
 * a warning for the log) when it does not exist. Root is refused whatever it is called:
 * a job running as uid 0 could read the credential and everything else.
 */
export function pickJobAccount(passwd: string, wanted: string): { account: PosixAccount; warning: string | null } {
  const accounts = parsePasswd(passwd);
  const named = accounts.find((a) => a.name === wanted);
  if (named && named.uid === 0) throw new JobAccountError(`job account "${wanted}" has uid 0: jobs never run as root`);
  if (named) return { account: named, warning: null };
  const fallback = accounts.find((a) => a.name === FALLBACK_JOB_USER);
  if (!fallback) throw new JobAccountError(`job account "${wanted}" does not exist, and neither does "${FALLBACK_JOB_USER}"`);
  if (fallback.uid === 0) throw new JobAccountError(`"${FALLBACK_JOB_USER}" has uid 0: jobs never run as root`);
  return {
    account: fallback,
    warning:
      `job account "${wanted}" does not exist; jobs run as "${FALLBACK_JOB_USER}" (create "${wanted}" so jobs do not share an account with other services)`,
  };
}

/** Groups a job gets besides its own: GPU device node groups where they exist (DRM render nodes, older /dev/nvidia* setups). */
export const GPU_GROUPS = ["video", "render"];

/**
 * The supplementary groups of a job run as `account`: its primary group, every group that
 * lists it as a member (an admin grants data access that way), and the GPU groups.
 */
export function supplementaryGroups(groups: PosixGroup[], account: PosixAccount): number[] {
  const gids = new Set<number>([account.gid]);
  for (const g of groups) if (g.members.includes(account.name) || GPU_GROUPS.includes(g.name)) gids.add(g.gid);
  // Group 0 (root) opens root-group files; a job never gets it, even if listed.
  gids.delete(0);
  return [...gids];
}

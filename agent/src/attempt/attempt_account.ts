// What one attempt runs as. Every attempt runs as the job account's uid, but with a
// primary group of its own, taken from a range no real group uses. Its work folder is
// group-owned by that gid, so a concurrent attempt (same uid, other gid) cannot enter it,
// and Linux also refuses ptrace and /proc/<pid>/{cwd,environ,mem} across differing gids.
// A numeric gid needs no /etc/group entry: root may setgid to any number.
import type { JobAccount, JobRunAs } from "../os/os_seam.ts";

/** First gid of the per-attempt range; well above system, user and usual LDAP ranges. */
export const ATTEMPT_GID_BASE = 0x7000_0000;
const ATTEMPT_GID_SPAN = 0x0fff_ffff;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The attempt's own gid: a hash of its id into the range, moved past any `taken` by this agent's live attempts. */
export function attemptGid(attemptId: string, taken: ReadonlySet<number>): number {
  let offset = fnv1a(attemptId) % ATTEMPT_GID_SPAN;
  while (taken.has(ATTEMPT_GID_BASE + offset)) offset = (offset + 1) % ATTEMPT_GID_SPAN;
  return ATTEMPT_GID_BASE + offset;
}

/** The attempt's uid/gid/groups, or null when jobs run as the agent's own account. */
export function runAsFor(account: JobAccount, attemptId: string, taken: ReadonlySet<number>): JobRunAs | null {
  if (account.kind !== "separate") return null;
  return { name: account.name, uid: account.uid, gid: attemptGid(attemptId, taken), groups: account.groups };
}

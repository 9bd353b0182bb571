// Reads the job account the installer created (ADR 0010) from the state folder, whose
// ACL admits only SYSTEM and Administrators. Read per spawn, so a rotated password is used
// by the next attempt without restarting the agent. Errors never quote the password.
import { join } from "node:path";
import { readJsonFile } from "../../runtime/json_file.ts";
import type { JobAccount } from "./spawn_as_user.ts";

/** The file's name inside the state folder. */
export const JOB_ACCOUNT_FILE = "job-account.json";

/** Local account names: at most 20 characters, none of the characters Windows forbids in them. */
const USER = /^[A-Za-z0-9._-]{1,20}$/;

/** The job account, or null when the installer set none up (no file). */
export async function readJobAccount(stateDir: string): Promise<JobAccount | null> {
  const path = join(stateDir, JOB_ACCOUNT_FILE);
  const read = await readJsonFile(path, () => {
    throw new Error(`Cannot read "${path}": not JSON`);
  });
  if (read === null) return null;
  const r = read.value as Partial<Record<keyof JobAccount, unknown>>;
  if (typeof r.user !== "string" || !USER.test(r.user)) throw new Error(`Cannot read "${path}": "user" is not a local account name`);
  const domain = r.domain === undefined ? "." : r.domain;
  if (typeof domain !== "string" || !/^(\.|[A-Za-z0-9-]{1,15})$/.test(domain)) {
    throw new Error(`Cannot read "${path}": "domain" must be "." or a computer name`);
  }
  if (typeof r.password !== "string" || r.password.length === 0 || r.password.includes("\0")) throw new Error(`Cannot read "${path}": "password" is missing`);
  return { user: r.user, domain, password: r.password };
}

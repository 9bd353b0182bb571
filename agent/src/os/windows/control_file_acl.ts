// The ACLs of the local control files on Windows (there is no chmod): inheritance cut, so
// the state folder's grants do not leak in, then SYSTEM and Administrators full control.
// control.json also grants read to the workstation owner's account when the admin named
// one (agent.json `control_owner`); idle-report.json grants read to INTERACTIVE (S-1-5-4),
// every user logged on at the console, because the idle reporter runs in their session and
// its token can only say "someone is here" (agent/src/control/control_file.ts).
import type { RunProgram } from "./work_folder_acl.ts";

const SYSTEM = "*S-1-5-18";
const ADMINISTRATORS = "*S-1-5-32-544";
const INTERACTIVE = "*S-1-5-4";
const TRUSTEE = /^(\*S-1-[0-9-]+|[A-Za-z0-9._ -]+(\\[A-Za-z0-9._ $-]+)?)$/;

/** icacls's arguments for one control file: `readers` get read access besides SYSTEM and Administrators. */
export function icaclsControlFileArgs(path: string, readers: string[]): string[] {
  for (const r of readers) if (!TRUSTEE.test(r)) throw new RangeError(`Trustee "${r}" is not an account name or *SID`);
  const grants = [`${SYSTEM}:F`, `${ADMINISTRATORS}:F`, ...readers.map((r) => `${r}:R`)];
  return [path, "/inheritance:r", ...grants.flatMap((g) => ["/grant:r", g]), "/Q"];
}

/** Sets both files' ACLs; throws with icacls's message when one fails (the agent then does not start its endpoint). */
export async function restrictWindowsControlFiles(controlPath: string, reportPath: string, owner: string | null, run: RunProgram): Promise<void> {
  for (const [path, readers] of [[controlPath, owner ? [owner] : []], [reportPath, [INTERACTIVE]]] as const) {
    const r = await run("icacls", icaclsControlFileArgs(path, [...readers]));
    if (!r.success) throw new Error(`icacls could not restrict "${path}": exit ${r.code}: ${r.stderr.trim()}`);
  }
}

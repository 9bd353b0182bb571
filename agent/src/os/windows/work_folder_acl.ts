// Gives the job account access to its attempt's work folder, and to nothing else the
// agent owns: the state folder (%ProgramData%\LabBridge) has inheritance cut and grants
// only SYSTEM and Administrators (agent/README.md), so agent.json stays out of reach;
// the job reaches its own folder anyway because "bypass traverse checking" is granted to
// every user by default.
//
// The grant goes to the job's logon SID (S-1-5-5-x-y, unique to the one LogonUserW
// session spawnAsUser made for this attempt) when it is known, so two attempts that run
// at once as the same labbridge-job account still cannot open each other's folders. The
// account name is the fallback.

/** Runs a program to completion; injected so tests record the icacls call. */
export type RunProgram = (program: string, args: string[]) => Promise<{ success: boolean; code: number; stderr: string }>;

/** icacls's arguments: modify rights (read, write, delete, execute) inherited by everything below the folder. */
export function icaclsGrantArgs(folder: string, trustee: string): string[] {
  if (!/^(\*S-1-[0-9-]+|[A-Za-z0-9._ -]+(\\[A-Za-z0-9._ -]+)?)$/.test(trustee)) throw new RangeError(`Trustee "${trustee}" is not an account name or *SID`);
  // (OI)(CI): files and subfolders inherit it, including those the agent already wrote
  // (inputs/), which icacls updates as it propagates. /Q: no per-file success lines.
  return [folder, "/grant", `${trustee}:(OI)(CI)M`, "/Q"];
}

/** Grants `trustee` modify access to `folder`; throws with icacls's message when it fails. */
export async function grantWorkFolder(folder: string, trustee: string, run: RunProgram): Promise<void> {
  const r = await run("icacls", icaclsGrantArgs(folder, trustee));
  if (!r.success) throw new Error(`icacls could not grant "${trustee}" access to "${folder}": exit ${r.code}: ${r.stderr.trim()}`);
}

/** The real RunProgram: Deno.Command, no shell, output captured. */
export const runProgram: RunProgram = async (program, args) => {
  const out = await new Deno.Command(program, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  return { success: out.success, code: out.code, stderr: new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout) };
};

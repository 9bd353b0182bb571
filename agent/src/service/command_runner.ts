// How the service commands and doctor run OS tools (systemctl, useradd, WinSW, icacls,
// PowerShell): one injected function, so the Windows call sequences are tested on Linux
// against a recording runner, and the Linux ones run for real.

/** One tool's outcome. `code` null: the program could not be started (not installed). */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `program` with `args`; `stdin` is written to it when given (secrets go there, never in argv). */
export type CommandRunner = (program: string, args: string[], opts?: { stdin?: string }) => Promise<CommandResult>;

/** The real runner: Deno.Command, output collected, a missing program as code null. */
export const runCommandLine: CommandRunner = async (program, args, opts = {}) => {
  try {
    const child = new Deno.Command(program, { args, stdin: opts.stdin === undefined ? "null" : "piped", stdout: "piped", stderr: "piped" }).spawn();
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin));
      await w.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { code: null, stdout: "", stderr: `"${program}" is not installed` };
    throw e;
  }
};

/** Fails with the tool's own words when it did not exit 0. */
export function checked(what: string, r: CommandResult): CommandResult {
  if (r.code === 0) return r;
  const detail = (r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`).split("\n").slice(-3).join(" ");
  throw new Error(`${what} failed: ${detail}`);
}

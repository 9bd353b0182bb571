// argv -> one Windows command line. CreateProcess takes a single string, and the program
// splits it again itself, almost always with the MSVC CRT rules (= CommandLineToArgvW):
//   - whitespace (space, tab) outside quotes separates arguments;
//   - "..." groups, and the quotes are dropped;
//   - 2n backslashes before a quote are n backslashes, and the quote is a delimiter;
//     2n+1 backslashes before a quote are n backslashes and a literal quote;
//   - backslashes not followed by a quote are literal.
// The program name (argv[0]) is split differently: up to the next quote if it starts with
// one, else up to whitespace, with no backslash rules, so it is only ever wrapped in
// quotes (a Windows path cannot contain a quote anyway).
// Batch files (.bat/.cmd) are parsed by cmd.exe with other rules; see ADR 0010.

/** CreateProcess's limit on lpCommandLine: 32767 characters including the final NUL. */
export const MAX_COMMAND_LINE = 32_766;

/** Quotes one argument so the CRT / CommandLineToArgvW hands it back unchanged. */
export function quoteArgument(arg: string): string {
  if (arg.includes("\0")) throw new RangeError("An argument contains a NUL character");
  if (arg.length > 0 && !/[ \t\n\v"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      backslashes++;
      continue;
    }
    // Backslashes before a quote are escapes: double them, then escape the quote itself.
    out += ch === '"' ? "\\".repeat(backslashes * 2 + 1) + '"' : "\\".repeat(backslashes) + ch;
    backslashes = 0;
  }
  // Trailing backslashes sit before the closing quote, so they are doubled too.
  return out + "\\".repeat(backslashes * 2) + '"';
}

/** Quotes the program name by argv[0]'s own rule: wrapped in quotes when it has whitespace. */
export function quoteProgram(program: string): string {
  if (program.length === 0) throw new RangeError("The program name is empty");
  if (/["\0]/.test(program)) throw new RangeError(`Program name "${program}" contains a quote or NUL, which Windows cannot pass`);
  return /[ \t]/.test(program) ? `"${program}"` : program;
}

/** The lpCommandLine for argv (program first); RangeError when Windows cannot carry it. */
export function windowsCommandLine(argv: readonly string[]): string {
  const [program, ...args] = argv;
  if (program === undefined) throw new RangeError("The command is empty");
  const line = [quoteProgram(program), ...args.map(quoteArgument)].join(" ");
  if (line.length > MAX_COMMAND_LINE) throw new RangeError(`The command line is ${line.length} characters; Windows allows ${MAX_COMMAND_LINE}`);
  return line;
}

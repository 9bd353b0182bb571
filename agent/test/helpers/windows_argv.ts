// An independent reading of the MSVC CRT / CommandLineToArgvW splitting rules (as
// documented in "Parsing C++ command-line arguments"), so quoting tests can check that
// what we write is read back as the argv we meant.

/** Splits a Windows command line into argv the way the CRT does. */
export function parseWindowsCommandLine(line: string): string[] {
  const argv: string[] = [];
  let i = 0;
  // argv[0]: up to the closing quote, or up to whitespace; no backslash rules.
  let program = "";
  if (line[0] === '"') {
    i = 1;
    while (i < line.length && line[i] !== '"') program += line[i++];
    i++;
  } else {
    while (i < line.length && line[i] !== " " && line[i] !== "\t") program += line[i++];
  }
  argv.push(program);
  while (true) {
    while (line[i] === " " || line[i] === "\t") i++;
    if (i >= line.length) return argv;
    let arg = "";
    let quoted = false;
    while (i < line.length && (quoted || (line[i] !== " " && line[i] !== "\t"))) {
      let backslashes = 0;
      while (line[i] === "\\") {
        backslashes++;
        i++;
      }
      if (line[i] === '"') {
        arg += "\\".repeat(Math.floor(backslashes / 2));
        if (backslashes % 2 === 1) arg += '"';
        else quoted = !quoted;
        i++;
      } else {
        arg += "\\".repeat(backslashes);
        if (i < line.length && (quoted || (line[i] !== " " && line[i] !== "\t"))) arg += line[i++];
      }
    }
    argv.push(arg);
  }
}

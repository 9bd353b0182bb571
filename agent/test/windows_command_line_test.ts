// Windows command-line quoting: exact strings for the CRT's tricky cases, and a round
// trip through an independent CRT-rules parser for a spread of awkward arguments.
import { assertEquals, assertThrows } from "./helpers/assert.ts";
import { parseWindowsCommandLine } from "./helpers/windows_argv.ts";
import { MAX_COMMAND_LINE, quoteArgument, quoteProgram, windowsCommandLine } from "../src/os/windows/command_line.ts";

Deno.test("the reference parser reads Microsoft's documented examples as documented", () => {
  // "Parsing C++ command-line arguments" (Microsoft Learn), each after a program name.
  const cases: Array<[string, string[]]> = [
    ['"abc" d e', ["abc", "d", "e"]],
    ['a\\\\b d"e f"g h', ["a\\\\b", "de fg", "h"]],
    ['a\\\\\\"b c d', ['a\\"b', "c", "d"]],
    ['a\\\\\\\\"b c" d e', ["a\\\\b c", "d", "e"]],
  ];
  for (const [line, args] of cases) assertEquals(parseWindowsCommandLine(`"C:\\p q\\x.exe" ${line}`), ["C:\\p q\\x.exe", ...args], line);
});

Deno.test("a plain argument, backslashes included, is passed unquoted", () => {
  assertEquals(quoteArgument("--lr=0.1"), "--lr=0.1");
  assertEquals(quoteArgument("C:\\data\\in\\"), "C:\\data\\in\\"); // no quote follows, so backslashes are literal
});

Deno.test("an empty argument becomes a pair of quotes, so it is not lost", () => {
  assertEquals(quoteArgument(""), '""');
  assertEquals(parseWindowsCommandLine(windowsCommandLine(["p", "", "x"])), ["p", "", "x"]);
});

Deno.test("arguments with spaces or tabs are quoted", () => {
  assertEquals(quoteArgument("a b"), '"a b"');
  assertEquals(quoteArgument("a\tb"), '"a\tb"');
});

Deno.test("a quote is escaped with one backslash, and backslashes before it are doubled", () => {
  assertEquals(quoteArgument('say "hi"'), '"say \\"hi\\""');
  assertEquals(quoteArgument('a\\"b'), '"a\\\\\\"b"'); // a\"b -> "a\\\"b"
  assertEquals(quoteArgument('"'), '"\\""');
});

Deno.test("trailing backslashes of a quoted argument are doubled so the closing quote stays a quote", () => {
  assertEquals(quoteArgument("C:\\My Data\\"), '"C:\\My Data\\\\"');
  assertEquals(quoteArgument("a b\\\\"), '"a b\\\\\\\\"');
});

Deno.test("the program name is only wrapped in quotes, never backslash-escaped", () => {
  assertEquals(quoteProgram("C:\\Python312\\python.exe"), "C:\\Python312\\python.exe");
  assertEquals(quoteProgram("C:\\Program Files\\Python\\python.exe"), '"C:\\Program Files\\Python\\python.exe"');
  assertThrows(() => quoteProgram('C:\\a"b.exe'), RangeError, "quote");
  assertThrows(() => quoteProgram(""), RangeError);
});

Deno.test("awkward arguments survive the round trip through the CRT rules unchanged", () => {
  const args = [
    "",
    " ",
    "plain",
    "two words",
    "tab\there",
    '"',
    '""',
    '\\"',
    "\\\\",
    "ends with \\",
    "ends with \\\\",
    'mid\\"quote',
    'a\\\\"b c',
    "x\\y\\z",
    "\\\\server\\share\\dir with space\\",
    "unicode 训练 ✓",
    "new\nline",
    '--json={"a": [1, 2]}',
    "%PATH% ^& | < >",
  ];
  const argv = ["C:\\Program Files\\Py\\python.exe", ...args];
  assertEquals(parseWindowsCommandLine(windowsCommandLine(argv)), argv);
});

Deno.test("arguments are separated by single spaces after the program", () => {
  assertEquals(windowsCommandLine(["python.exe", "train.py", "--epochs", "3"]), "python.exe train.py --epochs 3");
});

Deno.test("a NUL in an argument, or a command line over Windows's limit, is refused", () => {
  assertThrows(() => windowsCommandLine(["p", "a\0b"]), RangeError, "NUL");
  assertThrows(() => windowsCommandLine(["p", "x".repeat(MAX_COMMAND_LINE)]), RangeError, "allows");
  assertThrows(() => windowsCommandLine([]), RangeError, "empty");
});

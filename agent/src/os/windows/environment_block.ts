// The lpEnvironment block for CreateProcessAsUserW with CREATE_UNICODE_ENVIRONMENT:
// UTF-16 "NAME=value\0" entries, then one more "\0". Windows wants the entries sorted by
// name, case-insensitively, in ordinal (not locale) order (the SetEnvironmentVariable and
// CreateProcess documentation): the lookup code may stop early in an unsorted block.
// Names are case-insensitive on Windows, so "Path" and "PATH" are one variable: the last
// one given wins, as it would with successive SetEnvironmentVariable calls.

/** Uppercases code unit by code unit (like RtlUpcaseUnicodeChar), never changing the length as "ß".toUpperCase() does. */
function upcaseOrdinal(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!; // one UTF-16 code unit; a lone surrogate uppercases to itself
    const up = ch.toUpperCase();
    out += up.length === 1 ? up : ch;
  }
  return out;
}

/** Compares two names as Windows sorts the block: ordinal on the uppercased UTF-16 code units. */
export function compareEnvNames(a: string, b: string): number {
  const ua = upcaseOrdinal(a);
  const ub = upcaseOrdinal(b);
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/** Why a variable cannot go into a Windows environment block, or null. */
export function envEntryProblem(name: string, value: string): string | null {
  if (name.length === 0) return "the name is empty";
  // A leading "=" is legal (cmd.exe's "=C:" per-drive folders); one later would end the name.
  if (name.indexOf("=", 1) !== -1) return `name "${name}" contains "="`;
  if (name.includes("\0") || value.includes("\0")) return `variable "${name.replaceAll("\0", "\\0")}" contains a NUL character`;
  return null;
}

/** The sorted, de-duplicated entries the block will hold, as [name, value]. */
export function environmentEntries(env: Record<string, string>): Array<[string, string]> {
  const byName = new Map<string, [string, string]>();
  for (const [name, value] of Object.entries(env)) {
    const problem = envEntryProblem(name, value);
    if (problem) throw new RangeError(`Cannot pass the environment: ${problem}`);
    const key = upcaseOrdinal(name);
    byName.delete(key); // the last spelling given wins
    byName.set(key, [name, value]);
  }
  return [...byName.values()].sort((a, b) => compareEnvNames(a[0], b[0]));
}

/** The environment block bytes (UTF-16LE), double-NUL terminated; "\0\0" for an empty environment. */
export function environmentBlock(env: Record<string, string>): Uint8Array<ArrayBuffer> {
  const text = environmentEntries(env).map(([n, v]) => `${n}=${v}\0`).join("");
  // An empty block still needs two NULs: one ending the (absent) first entry, one ending the block.
  const full = text.length === 0 ? "\0\0" : text + "\0";
  const units = new Uint16Array(full.length);
  for (let i = 0; i < full.length; i++) units[i] = full.charCodeAt(i);
  return new Uint8Array(units.buffer);
}

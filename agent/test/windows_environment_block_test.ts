// The UTF-16 environment block for CreateProcessAsUserW: sorted case-insensitively by
// ordinal, de-duplicated by case-insensitive name, double-NUL terminated.
import { assertEquals, assertThrows } from "./helpers/assert.ts";
import { compareEnvNames, environmentBlock, environmentEntries } from "../src/os/windows/environment_block.ts";

const decode = (b: Uint8Array) => String.fromCharCode(...new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2));

Deno.test("the block is NAME=value entries, each NUL-terminated, with one more NUL at the end", () => {
  assertEquals(decode(environmentBlock({ B: "2", A: "1" })), "A=1\0B=2\0\0");
});

Deno.test("an empty environment is two NULs", () => {
  const b = environmentBlock({});
  assertEquals(b.byteLength, 4);
  assertEquals([...b], [0, 0, 0, 0]);
});

Deno.test("entries are sorted case-insensitively, not by their raw code units", () => {
  // Raw order would put every uppercase name before "a_lower" and "Path".
  const names = environmentEntries({ Path: "p", a_lower: "x", LB_JOB_ID: "j", CUDA_VISIBLE_DEVICES: "0", TEMP: "t", _X: "u" }).map(([n]) => n);
  assertEquals(names, ["a_lower", "CUDA_VISIBLE_DEVICES", "LB_JOB_ID", "Path", "TEMP", "_X"]);
});

Deno.test("the sort is ordinal on uppercased code units: '_' (0x5F) sorts after letters, as Windows does", () => {
  assertEquals(compareEnvNames("A_B", "AB") > 0, true); // '_' 0x5F > 'B' 0x42
  assertEquals(compareEnvNames("path", "PATH"), 0);
  assertEquals(compareEnvNames("ß", "SS") !== 0, true, "no length-changing case mapping");
});

Deno.test("names differing only in case are one variable, and the last one given wins", () => {
  assertEquals(environmentEntries({ PATH: "C:\\a", Path: "C:\\b" }), [["Path", "C:\\b"]]);
});

Deno.test("values keep '=' and non-ASCII text as UTF-16 code units", () => {
  const block = environmentBlock({ OPTS: "a=b=c", NAME: "训练" });
  assertEquals(decode(block), "NAME=训练\0OPTS=a=b=c\0\0");
  assertEquals(block.byteLength, decode(block).length * 2);
});

Deno.test("a leading '=' in a name is allowed (cmd's =C: variables), a later one is refused", () => {
  assertEquals(environmentEntries({ "=C:": "C:\\work" }), [["=C:", "C:\\work"]]);
  assertThrows(() => environmentBlock({ "A=B": "x" }), RangeError, 'contains "="');
});

Deno.test("an empty name or a NUL anywhere is refused", () => {
  assertThrows(() => environmentBlock({ "": "x" }), RangeError, "empty");
  assertThrows(() => environmentBlock({ A: "x\0y" }), RangeError, "NUL");
});

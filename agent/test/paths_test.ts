// Path safety: input paths from the gateway, Windows-only names, output walking.
import { join } from "node:path";
import { linuxSeam } from "../src/os/linux.ts";
import { windowsPathProblem, windowsSeam } from "../src/os/windows.ts";
import { listOutputs } from "../src/transfer/outputs.ts";
import { resolveInside, UnsafePathError } from "../src/attempt/safe_paths.ts";
import { silentLogger } from "../src/runtime/log.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";

Deno.test("resolveInside: ordinary relative paths land under the base", () => {
  assertEquals(resolveInside("/w/inputs", "a.txt", linuxSeam), "/w/inputs/a.txt");
  assertEquals(resolveInside("/w/inputs", "data/train/x.bin", linuxSeam), "/w/inputs/data/train/x.bin");
  assertEquals(resolveInside("/w/inputs", "..hidden/x", linuxSeam), "/w/inputs/..hidden/x");
});

Deno.test("resolveInside: escapes and odd paths are refused", () => {
  for (const bad of ["../x", "a/../../x", "/etc/passwd", "C:/x", "a\\b", "a//b", "./a", "a/./b", "", "a\u0000b", "x".repeat(600)]) {
    assertThrows(() => resolveInside("/w/inputs", bad, linuxSeam), UnsafePathError);
  }
});

Deno.test("windows names: reserved devices, forbidden characters, trailing dots", () => {
  for (const bad of ["con", "NUL.txt", "a/COM1", "lpt9.log", "a:b", "x/y?.txt", "trailing.", "space /x", 'q"']) {
    assert(windowsPathProblem(bad) !== null, bad);
    assertThrows(() => resolveInside("C:/w/inputs", bad, windowsSeam), UnsafePathError);
  }
  for (const ok of ["console.txt", "data/nul_values.csv", "a.b.c", "COM10"]) assertEquals(windowsPathProblem(ok), null, ok);
});

Deno.test("listOutputs: recursive, forward slashes, sorted; symlinks are not followed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lb-agent-out-" });
  try {
    await Deno.mkdir(join(dir, "sub", "deeper"), { recursive: true });
    await Deno.writeTextFile(join(dir, "b.txt"), "bb");
    await Deno.writeTextFile(join(dir, "sub", "deeper", "a.txt"), "a");
    await Deno.writeTextFile(join(dir, "sub", "empty.txt"), "");
    const secret = join(dir, "..", `lb-secret-${crypto.randomUUID()}`);
    await Deno.writeTextFile(secret, "secret");
    await Deno.symlink(secret, join(dir, "link.txt"));
    await Deno.symlink(join(dir, "sub"), join(dir, "dirlink"));
    const files = await listOutputs(dir, silentLogger);
    await Deno.remove(secret);
    assertEquals(files.map((f) => [f.keyPath, f.rel, f.size]), [
      ["outputs/b.txt", "b.txt", 2],
      ["outputs/sub/deeper/a.txt", "sub/deeper/a.txt", 1],
      ["outputs/sub/empty.txt", "sub/empty.txt", 0],
    ]);
    assertEquals(await listOutputs(join(dir, "missing"), silentLogger), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

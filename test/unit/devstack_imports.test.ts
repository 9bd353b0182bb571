import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "@labbridge/devstack";

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules" && entry.name !== "results") out.push(...(await tsFiles(full)));
    else if (entry.name.endsWith(".ts")) out.push(full);
  }
  return out;
}

describe("the dev stack is product code", () => {
  it("scripts/, loadtest/, packages/ and cli/ import nothing from test/", async () => {
    const offenders: string[] = [];
    for (const dir of ["scripts", "loadtest", "packages", "cli"]) {
      for (const file of await tsFiles(join(ROOT, dir))) {
        if (/from\s+["'][^"']*\/test\//.test(await readFile(file, "utf8"))) offenders.push(file.slice(ROOT.length + 1));
      }
    }
    expect(offenders).toEqual([]);
  });
});

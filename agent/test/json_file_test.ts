// readJsonFile, the one way the agent reads its JSON state files, on real files.
import { assert, assertEquals } from "./helpers/assert.ts";
import { readJsonFile } from "../src/runtime/json_file.ts";

async function inTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "lb-json-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a missing file reads as null, without asking what to do with bad JSON", async () => {
  await inTempDir(async (dir) => {
    let asked = false;
    assertEquals(await readJsonFile(`${dir}/absent.json`, () => (asked = true)), null);
    assert(!asked, "notJson was called for a missing file");
  });
});

Deno.test("a JSON file reads as its parsed value, JSON null included", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify({ port: 4100, token: "t" }));
    await Deno.writeTextFile(`${dir}/null.json`, "null");
    assertEquals(await readJsonFile(`${dir}/a.json`, () => "bad"), { value: { port: 4100, token: "t" } });
    assertEquals(await readJsonFile(`${dir}/null.json`, () => "bad"), { value: null });
  });
});

Deno.test("text that is not JSON gives what the caller's notJson returns, or the error it throws", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/torn.json`;
    await Deno.writeTextFile(path, '{"port": 41');
    const got = await readJsonFile(path, (e) => ({ notJson: e instanceof SyntaxError }));
    assertEquals(got, { notJson: true });
    let message = "";
    try {
      await readJsonFile(path, () => {
        throw new Error(`Cannot read "${path}": not JSON`);
      });
    } catch (e) {
      message = (e as Error).message;
    }
    assertEquals(message, `Cannot read "${path}": not JSON`);
  });
});

Deno.test("a read error other than a missing file is thrown as it came", async () => {
  await inTempDir(async (dir) => {
    // A folder where the file should be: reading it fails, and not with NotFound.
    await Deno.mkdir(`${dir}/a.json`);
    let thrown: unknown = null;
    try {
      await readJsonFile(`${dir}/a.json`, () => null);
    } catch (e) {
      thrown = e;
    }
    assert(thrown instanceof Error && !(thrown instanceof Deno.errors.NotFound), `expected a read error, got ${String(thrown)}`);
  });
});

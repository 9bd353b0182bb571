// dirEntriesOrNull, how the agent lists folders that may be gone, on real folders.
import { assert, assertEquals } from "./helpers/assert.ts";
import { dirEntriesOrNull } from "../src/runtime/dir_entries.ts";

Deno.test("a folder lists its entries, and a missing one reads as null", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lb-dir-" });
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "a");
    await Deno.mkdir(`${dir}/sub`);
    const names = (await dirEntriesOrNull(dir))?.map((e) => `${e.name}${e.isDirectory ? "/" : ""}`).sort();
    assertEquals(names, ["a.txt", "sub/"]);
    assertEquals(await dirEntriesOrNull(`${dir}/gone`), null);
    // A file where a folder should be is an error, not an empty folder.
    let thrown: unknown = null;
    await dirEntriesOrNull(`${dir}/a.txt`).catch((e) => (thrown = e));
    assert(thrown instanceof Error && !(thrown instanceof Deno.errors.NotFound), `expected a read error, got ${String(thrown)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

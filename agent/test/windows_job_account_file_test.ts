// job-account.json in the state folder, read from real files.
import { assert, assertEquals } from "./helpers/assert.ts";
import { JOB_ACCOUNT_FILE, readJobAccount } from "../src/os/windows/job_account_file.ts";

async function withStateDir(content: string | null, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "lb-acct-" });
  try {
    if (content !== null) await Deno.writeTextFile(`${dir}/${JOB_ACCOUNT_FILE}`, content);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

Deno.test("the installer's job account is read, with a local domain by default", async () => {
  await withStateDir(JSON.stringify({ user: "labbridge-job", password: "Zq9!x" }), async (dir) => {
    assertEquals(await readJobAccount(dir), { user: "labbridge-job", domain: ".", password: "Zq9!x" });
  });
});

Deno.test("no job-account.json means no job account was set up", async () => {
  await withStateDir(null, async (dir) => assertEquals(await readJobAccount(dir), null));
});

Deno.test("a broken job-account.json is an error that names the field and never quotes the password", async () => {
  await withStateDir(JSON.stringify({ user: "bad\\name", password: "hunter2-secret" }), async (dir) => {
    const m = await errorOf(readJobAccount(dir));
    assert(m.includes('"user"'), m);
    assert(!m.includes("hunter2-secret"), m);
  });
  await withStateDir(JSON.stringify({ user: "labbridge-job", password: "" }), async (dir) => {
    assert((await errorOf(readJobAccount(dir))).includes('"password"'));
  });
  await withStateDir("{not json hunter2", async (dir) => {
    const m = await errorOf(readJobAccount(dir));
    assert(m.includes("not JSON") && !m.includes("hunter2"), m);
  });
});

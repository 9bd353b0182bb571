import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeUploadXml, MIN_PART_BYTES } from "@labbridge/protocol";
import { createObjectStorage } from "@labbridge/storage";
import { startApiOnOssLocal, type ApiOnOssLocal } from "../harness/api_on_oss_local.ts";
import type { TestEnv } from "../harness/test_env.ts";

// Uploads as a client makes them (API.md "Uploads"): the API plans and signs, the bytes go
// straight to oss-local (which checks real OSS signatures) with real curl and fetch, and the
// object is read back with the real ali-oss client. The part size is the store's minimum, so
// multipart runs on files of a few hundred KiB.

const run = promisify(execFile);
const PART = MIN_PART_BYTES;

let stack: ApiOnOssLocal;
let dir: string;
let env: TestEnv;
let base: string;

beforeAll(async () => {
  stack = await startApiOnOssLocal("uploads", PART);
  ({ dir, env, base } = stack);
});

afterAll(async () => {
  await stack?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, path: string, body?: unknown, token = env.config.adminToken!): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

async function fileOf(data: Buffer): Promise<string> {
  const path = join(dir, `f-${randomBytes(4).toString("hex")}`);
  await writeFile(path, data);
  return path;
}

function curlHeaders(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]);
}

/** Runs curl and returns the HTTP status it got (curl itself succeeds on any status). */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run("curl", ["-sS", "-o", "-", "-w", "\n%{http_code}", ...args]);
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

async function readBack(key: string): Promise<Buffer> {
  const storage = createObjectStorage(env.config.storage);
  return (await storage.client.get(key)).content as Buffer;
}

async function putPart(plan: { headers: Record<string, string> }, url: string, data: Buffer): Promise<string> {
  const res = await fetch(url, { method: "PUT", headers: plan.headers, body: new Uint8Array(data) });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.headers.get("etag")!;
}

describe("a file sent in one PUT", () => {
  it("names in headers every header the PUT needs, so curl -T with them stores the file", async () => {
    const data = randomBytes(2000);
    const a = await call("POST", "/v1/uploads", { name: "small.bin", size: data.length, sha256: sha256(data) });
    expect(a.status).toBe(201);
    expect(a.body.headers).toEqual({ "Content-Type": "application/octet-stream" });
    expect(a.body.upload_id).toMatch(/^upl_/);
    const put = await curl(["-T", await fileOf(data), ...curlHeaders(a.body.headers), a.body.url]);
    expect(put.status, put.body).toBe(200);
    expect(sha256(await readBack(a.body.key))).toBe(sha256(data));
  });

  it("takes curl --data-binary with the answer's headers, and refuses it with curl's own Content-Type (the issue's 403)", async () => {
    const data = randomBytes(1500);
    const a = await call("POST", "/v1/uploads", { name: "posted.bin", size: data.length });
    const file = await fileOf(data);
    const bare = await curl(["-X", "PUT", "--data-binary", `@${file}`, a.body.url]);
    expect(bare.status).toBe(403);
    expect(bare.body).toContain("SignatureDoesNotMatch");
    const put = await curl(["-X", "PUT", "--data-binary", `@${file}`, ...curlHeaders(a.body.headers), a.body.url]);
    expect(put.status, put.body).toBe(200);
    expect(sha256(await readBack(a.body.key))).toBe(sha256(data));
    expect((await call("GET", `/v1/uploads/${a.body.upload_id}`)).body).toMatchObject({ state: "complete", size: data.length });
  });
});

describe("a file over the part size", () => {
  it("gets a multipart plan; parts PUT with curl and the completion POST make the object", async () => {
    const data = randomBytes(PART * 3 + 1234);
    const a = await call("POST", "/v1/uploads", { name: "big.bin", size: data.length, sha256: sha256(data) });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ method: "PUT", headers: { "Content-Type": "application/octet-stream" }, part_size: PART });
    expect(a.body.url).toBeUndefined();
    expect(a.body.parts.map((p: { number: number }) => p.number)).toEqual([1, 2, 3, 4]);
    for (const part of a.body.parts) expect(part.headers).toEqual(a.body.headers);
    expect(a.body.complete).toMatchObject({ method: "POST", headers: { "Content-Type": "application/xml" } });
    const etags: { number: number; etag: string }[] = [];
    for (const part of a.body.parts as { number: number; url: string }[]) {
      const chunk = data.subarray((part.number - 1) * PART, part.number * PART);
      const file = await fileOf(chunk);
      const { stdout } = await run("curl", ["-sS", "-D", "-", "-o", "/dev/null", "-T", file, ...curlHeaders(a.body.headers), part.url]);
      const etag = /^etag:\s*(.+?)\r?$/im.exec(stdout)?.[1];
      expect(etag, stdout).toBeTruthy();
      etags.push({ number: part.number, etag: etag! });
    }
    const done = await fetch(a.body.complete.url, { method: "POST", headers: a.body.complete.headers, body: completeUploadXml(etags) });
    expect(done.status, await done.text()).toBe(200);
    expect(sha256(await readBack(a.body.key))).toBe(sha256(data));
    expect((await call("GET", `/v1/uploads/${a.body.upload_id}`)).body).toMatchObject({ state: "complete", parts: [], held: [] });
  });

  it("an interrupted upload resumes: GET /v1/uploads/{id} lists the held parts and presigns only the rest", async () => {
    const data = randomBytes(PART * 3 + 10);
    const a = await call("POST", "/v1/uploads", { name: "resume.bin", size: data.length });
    const chunk = (n: number) => data.subarray((n - 1) * PART, n * PART);
    const sent = new Map<number, string>();
    sent.set(1, await putPart(a.body, a.body.parts[0].url, chunk(1)));
    // One held part (ali-oss parses a lone <Part> differently from several).
    expect((await call("GET", `/v1/uploads/${a.body.upload_id}`)).body.held).toEqual([{ number: 1, size: PART, etag: sent.get(1) }]);
    sent.set(3, await putPart(a.body, a.body.parts[2].url, chunk(3)));

    const status = await call("GET", `/v1/uploads/${a.body.upload_id}`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ state: "uploading", size: data.length, part_size: PART, key: a.body.key });
    expect(status.body.held).toEqual([
      { number: 1, size: PART, etag: sent.get(1) },
      { number: 3, size: PART, etag: sent.get(3) },
    ]);
    expect(status.body.parts.map((p: { number: number }) => p.number)).toEqual([2, 4]);
    for (const part of status.body.parts as { number: number; url: string }[]) sent.set(part.number, await putPart(status.body, part.url, chunk(part.number)));

    const parts = [...sent].sort(([x], [y]) => x - y).map(([number, etag]) => ({ number, etag }));
    const done = await fetch(status.body.complete.url, { method: "POST", headers: status.body.complete.headers, body: completeUploadXml(parts) });
    expect(done.status, await done.text()).toBe(200);
    expect(sha256(await readBack(a.body.key))).toBe(sha256(data));
  });

  it("a 6 GiB file gets a plan whose parts fit the store's 10,000-part limit", async () => {
    const size = 6 * 1024 ** 3;
    const a = await call("POST", "/v1/uploads", { name: "huge.bin", size });
    expect(a.status).toBe(201);
    expect(a.body.parts.length).toBeLessThanOrEqual(10_000);
    expect(a.body.part_size * a.body.parts.length).toBeGreaterThanOrEqual(size);
    expect(a.body.part_size * (a.body.parts.length - 1)).toBeLessThan(size);
  });

  it("refuses a size over 10,000 parts of 5 GiB, and hides another user's upload", async () => {
    const over = await call("POST", "/v1/uploads", { name: "x.bin", size: 10_000 * 5 * 1024 ** 3 + 1 });
    expect(over.status).toBe(422);
    expect(over.body.error.details.problems[0].field).toBe("size");
    const mine = await call("POST", "/v1/uploads", { name: "mine.bin", size: 10 });
    const bob = (await call("POST", "/v1/api-tokens", { owner: "bob", role: "user" })).body.token as string;
    const seen = await call("GET", `/v1/uploads/${mine.body.upload_id}`, undefined, bob);
    expect(seen.status).toBe(404);
    expect(seen.body.error.code).toBe("not_found");
  });
});

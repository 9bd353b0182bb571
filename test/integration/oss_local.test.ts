import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OSS from "ali-oss";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOssLocal, type OssLocal } from "@labbridge/oss-local";
import { createObjectStorage, type ObjectStorage, type StorageConfig } from "@labbridge/storage";

// The real ali-oss client and real presigned URLs against oss-local: every request below is
// signed by ali-oss or by @labbridge/storage and checked by the store.

const BUCKET = "lb-test";
const ACCESS_KEY_ID = "test-access-key";
const ACCESS_KEY_SECRET = "test-secret";

let dataDir: string;
let store: OssLocal;
let storage: ObjectStorage;
/** Added to the store's clock, to move it past an expiry without waiting. */
let serverSkewMs = 0;

function configFor(overrides: Partial<StorageConfig> = {}): StorageConfig {
  return {
    endpoint: store.url,
    bucket: BUCKET,
    accessKeyId: ACCESS_KEY_ID,
    accessKeySecret: ACCESS_KEY_SECRET,
    cname: true,
    ...overrides,
  };
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

async function errorCode(response: Response): Promise<string | undefined> {
  return /<Code>([^<]*)<\/Code>/.exec(await response.text())?.[1];
}

/** A request sent byte for byte as written: fetch would normalize "." and ".." out of the path. */
function rawRequest(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(store.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "oss-local-test-"));
  store = await startOssLocal({
    port: 0,
    dataDir,
    bucket: BUCKET,
    accessKeyId: ACCESS_KEY_ID,
    accessKeySecret: ACCESS_KEY_SECRET,
    clock: () => Date.now() + serverSkewMs,
  });
  storage = createObjectStorage(configFor());
});

afterAll(async () => {
  await store?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("oss-local with the ali-oss client", () => {
  it("signs with V1 by default", () => {
    expect((storage.client as unknown as { options: { authorizationV4: boolean } }).options.authorizationV4).toBe(false);
  });

  it("puts, gets, heads and deletes an object", async () => {
    const key = "crud/hello wörld+1 (a).txt";
    const body = Buffer.from("hello from oss-local\n");
    const put = await storage.client.put(key, body, { mime: "text/plain", meta: { owner: "tests" } as never });
    expect(put.res.status).toBe(200);

    const got = await storage.client.get(key);
    expect(Buffer.from(got.content as Buffer).equals(body)).toBe(true);

    const head = await storage.client.head(key);
    expect(head.status).toBe(200);
    expect(head.meta).toEqual({ owner: "tests" });
    const headers = head.res.headers as Record<string, string>;
    expect(headers["content-length"]).toBe(String(body.length));
    expect(headers["content-type"]).toBe("text/plain");
    expect(headers.etag).toBe(`"${createHash("md5").update(body).digest("hex").toUpperCase()}"`);

    const deleted = await storage.client.delete(key);
    expect(deleted.res.status).toBe(204);
    await expect(storage.client.get(key)).rejects.toMatchObject({ status: 404, code: "NoSuchKey" });
    // Deleting again is not an error, as in OSS.
    expect((await storage.client.delete(key)).res.status).toBe(204);
  });

  it("reports NoSuchKey for HEAD of a missing object", async () => {
    await expect(storage.client.head("missing/nothing-here")).rejects.toMatchObject({ status: 404, code: "NoSuchKey" });
  });

  it("round-trips a 12 MB file through multipartUpload with matching sha256", async () => {
    const data = randomBytes(12 * 1024 * 1024 + 12345);
    const file = join(dataDir, "..", `oss-local-upload-${process.pid}.bin`);
    await writeFile(file, data);
    try {
      const key = "multipart/big.bin";
      const parts: number[] = [];
      const result = await storage.client.multipartUpload(key, file, {
        partSize: 1024 * 1024,
        parallel: 4,
        progress: async (_p: number, checkpoint: { doneParts: unknown[] } | undefined) => {
          if (checkpoint) parts.push(checkpoint.doneParts.length);
        },
      });
      expect(result.res.status).toBe(200);
      expect(Math.max(...parts)).toBe(13);

      const download = await storage.client.getStream(key);
      const hash = createHash("sha256");
      for await (const chunk of download.stream as AsyncIterable<Buffer>) hash.update(chunk);
      expect(hash.digest("hex")).toBe(sha256(data));

      const head = await storage.client.head(key);
      const headers = head.res.headers as Record<string, string>;
      expect(headers["content-length"]).toBe(String(data.length));
      expect(headers["x-oss-object-type"]).toBe("Multipart");
      expect(headers.etag).toMatch(/^"[0-9A-F]{32}-13"$/);
    } finally {
      await rm(file, { force: true });
    }
  });

  it("round-trips a 12 MB buffer through multipartUpload with matching sha256", async () => {
    const data = randomBytes(12 * 1024 * 1024);
    const key = "multipart/buffer.bin";
    await storage.client.multipartUpload(key, data, { partSize: 1024 * 1024 });
    const download = await fetch(storage.presignGet(key, 60).url);
    expect(download.status).toBe(200);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(data));
  });

  it("refuses to complete a multipart upload with a wrong part ETag, then aborts it", async () => {
    const key = "multipart/wrong-etag.bin";
    const { uploadId } = await storage.client.initMultipartUpload(key);
    const part = randomBytes(200 * 1024);
    const uploaded = await storage.client.uploadPart(key, uploadId, 1, part as never, 0, part.length);
    const listed = await storage.client.listParts(key, uploadId, {} as OSS.ListPartsQuery);
    // ali-oss parses XML with explicitArray off: a single <Part> arrives as an object.
    expect([listed.parts].flat()).toMatchObject([{ PartNumber: "1", ETag: uploaded.etag, Size: String(part.length) }]);

    await expect(
      storage.client.completeMultipartUpload(key, uploadId, [{ number: 1, etag: '"00000000000000000000000000000000"' }]),
    ).rejects.toMatchObject({ status: 400, code: "InvalidPart" });

    // @types/ali-oss misdescribes the result; ali-oss returns { res }.
    const aborted = (await storage.client.abortMultipartUpload(key, uploadId)) as unknown as { res: { status: number } };
    expect(aborted.res.status).toBe(204);
    await expect(storage.client.listParts(key, uploadId, {} as OSS.ListPartsQuery)).rejects.toMatchObject({ status: 404, code: "NoSuchUpload" });
  });

  it("refuses a client with the wrong secret with SignatureDoesNotMatch", async () => {
    const wrong = createObjectStorage(configFor({ accessKeySecret: "not-the-secret" }));
    await expect(wrong.client.put("auth/wrong-secret.txt", Buffer.from("x"))).rejects.toMatchObject({
      status: 403,
      code: "SignatureDoesNotMatch",
    });
  });

  it("refuses a client with an unknown access key id with InvalidAccessKeyId", async () => {
    const wrong = createObjectStorage(configFor({ accessKeyId: "someone-else" }));
    await expect(wrong.client.get("auth/anything.txt")).rejects.toMatchObject({ status: 403, code: "InvalidAccessKeyId" });
  });

  it("refuses a key with a '..' segment with 400 InvalidObjectName", async () => {
    // Sent raw: ali-oss (urllib) and fetch both fold ".." out of the path before sending.
    // The key is checked before the signature, so no signature is needed to get the 400.
    for (const path of ["/inputs/../escape.txt", "/inputs/%2E%2E/%2e%2e/etc/passwd", "/a/..%2F..%2Fb"]) {
      const response = await rawRequest("PUT", path, { "Content-Length": "0" });
      expect(response.status, path).toBe(400);
      expect(response.body).toContain("<Code>InvalidObjectName</Code>");
    }
  });

  it("refuses an unsigned request with AccessDenied", async () => {
    const response = await fetch(`${store.url}/crud/anything.txt`);
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe("AccessDenied");
  });

  it("accepts V4 signatures from ali-oss in the header and in signatureUrlV4", async () => {
    const v4 = new OSS({ ...configFor(), authorizationV4: true, region: "oss-cn-hangzhou" });
    const key = "v4/signed (v4).txt";
    await v4.put(key, Buffer.from("v4 body"), { mime: "text/plain" });
    expect(Buffer.from((await v4.get(key)).content as Buffer).toString()).toBe("v4 body");

    const url = await v4.signatureUrlV4("GET", 60, undefined, key);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("v4 body");

    const tampered = url.replace(/x-oss-signature=[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith("0") ? "1" : "0"));
    expect((await fetch(tampered)).status).toBe(403);
  });
});

describe("presigned URLs against oss-local", () => {
  it("round-trips bytes through a presigned PUT and a presigned GET", async () => {
    const key = "presigned/data file.bin";
    const data = randomBytes(256 * 1024);
    const put = storage.presignPut(key, 300, "application/x-test");
    expect(put.headers).toEqual({ "Content-Type": "application/x-test" });
    const uploaded = await fetch(put.url, { method: put.method, headers: put.headers, body: data });
    expect(uploaded.status).toBe(200);

    const download = await fetch(storage.presignGet(key, 300).url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/x-test");
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(data));
  });

  it("round-trips bytes through a presigned PUT without a signed Content-Type", async () => {
    const key = "presigned/no-type.bin";
    const put = storage.presignPut(key, 300);
    expect(put.headers).toEqual({});
    expect((await fetch(put.url, { method: "PUT", body: Buffer.from("plain") })).status).toBe(200);
    const download = await fetch(storage.presignGet(key, 300).url);
    expect(await download.text()).toBe("plain");
  });

  it("refuses a presigned PUT sent with a different Content-Type than signed", async () => {
    const put = storage.presignPut("presigned/typed.bin", 300, "application/json");
    const response = await fetch(put.url, { method: "PUT", headers: { "Content-Type": "text/plain" }, body: "x" });
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe("SignatureDoesNotMatch");
  });

  it("serves a byte range of an object", async () => {
    const key = "presigned/range.txt";
    await storage.client.put(key, Buffer.from("0123456789"));
    const response = await fetch(storage.presignGet(key, 60).url, { headers: { Range: "bytes=2-5" } });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(await response.text()).toBe("2345");
  });

  it("refuses a presigned URL with 403 once the server clock passes Expires", async () => {
    const key = "presigned/expiring.txt";
    await storage.client.put(key, Buffer.from("soon gone"));
    const { url, expiresAt } = storage.presignGet(key, 60);
    expect((await fetch(url)).status).toBe(200);
    serverSkewMs = Date.parse(expiresAt) - Date.now() + 2000;
    try {
      const response = await fetch(url);
      expect(response.status).toBe(403);
      const body = await response.text();
      expect(body).toContain("<Code>AccessDenied</Code>");
      expect(body).toContain("Request has expired");
    } finally {
      serverSkewMs = 0;
    }
  });

  it("refuses a presigned URL made with a clock already past its expiry", async () => {
    const pastStorage = createObjectStorage(configFor(), () => Date.now() - 3_600_000);
    const response = await fetch(pastStorage.presignGet("presigned/expiring.txt", 60).url);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("Request has expired");
  });

  it("refuses a presigned URL with a tampered signature with SignatureDoesNotMatch", async () => {
    const key = "presigned/tamper.txt";
    await storage.client.put(key, Buffer.from("t"));
    const url = new URL(storage.presignGet(key, 60).url);
    const signature = url.searchParams.get("Signature") ?? "";
    url.searchParams.set("Signature", (signature.startsWith("A") ? "B" : "A") + signature.slice(1));
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe("SignatureDoesNotMatch");
  });

  it("refuses a presigned URL used for another key with SignatureDoesNotMatch", async () => {
    const url = new URL(storage.presignGet("presigned/tamper.txt", 60).url);
    url.pathname = "/presigned/other.txt";
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe("SignatureDoesNotMatch");
  });

  it("refuses a presigned URL signed with the wrong secret with SignatureDoesNotMatch", async () => {
    const wrong = createObjectStorage(configFor({ accessKeySecret: "guessed-secret" }));
    const response = await fetch(wrong.presignGet("presigned/tamper.txt", 60).url);
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe("SignatureDoesNotMatch");
  });

  it("refuses to presign a key with a '..' segment", () => {
    expect(() => storage.presignGet("jobs/../secrets", 60)).toThrow('Invalid object key "jobs/../secrets": contains ".." segment');
    expect(() => storage.presignPut("../up", 60)).toThrow('contains ".." segment');
  });
});

describe("presigned URLs match ali-oss signatureUrl", () => {
  // signatureUrl reads the wall clock, so its Expires is read back and our clock set to match.
  function parity(config: StorageConfig, key: string, options: Record<string, unknown>, contentType?: string) {
    const client = new OSS(config);
    const expected = client.signatureUrl(key, { expires: 600, ...options });
    const expires = Number(new URL(expected).searchParams.get("Expires"));
    const ours = createObjectStorage(config, () => (expires - 600) * 1000);
    const actual = options.method === "PUT" ? ours.presignPut(key, 600, contentType).url : ours.presignGet(key, 600).url;
    expect(actual).toBe(expected);
  }

  const cname: StorageConfig = {
    endpoint: "http://localhost:9000",
    bucket: BUCKET,
    accessKeyId: ACCESS_KEY_ID,
    accessKeySecret: ACCESS_KEY_SECRET,
    cname: true,
  };
  const aliyun: StorageConfig = { ...cname, endpoint: "oss-cn-hangzhou.aliyuncs.com", cname: false, secure: true };

  it("matches for GET on a cname endpoint", () => parity(cname, "jobs/j1/a1/outputs/model (final)+v2 ü.bin", {}));
  it("matches for PUT with Content-Type on a cname endpoint", () =>
    parity(cname, "inputs/u1/data.csv", { method: "PUT", "Content-Type": "text/csv" }, "text/csv"));
  it("matches for GET on an Aliyun endpoint", () => parity(aliyun, "jobs/j1/a1/logs/stdout.log", {}));
  it("matches for PUT without Content-Type on an Aliyun endpoint", () =>
    parity(aliyun, "inputs/u1/weights.bin", { method: "PUT" }));
});

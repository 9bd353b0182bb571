import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOssLocal, type OssLocal } from "@labbridge/oss-local";
import { createObjectStorage, type ObjectStorage } from "@labbridge/storage";
import { putToStore, type UploadProgress } from "../../web/src/api/upload.ts";
import type { MultipartUploadPlan } from "@labbridge/protocol";

// The dashboard's upload code (web/src/api/upload.ts) sending a File's bytes to the real
// local store, under URLs presigned the way the API presigns them: one PUT, or a multipart
// plan (API.md "Uploads") with presigned part and completion URLs made here by ali-oss.

const BUCKET = "lb-web-upload";
let dataDir: string;
let store: OssLocal;
let storage: ObjectStorage;

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

// ali-oss presigns only for a host name; a V1 signature does not cover the host, so the URL
// is signed for localhost and sent to the store's 127.0.0.1.
function presign(method: string, key: string, subResource: Record<string, string>): string {
  const signer = createObjectStorage({ endpoint: store.url.replace("127.0.0.1", "localhost"), bucket: BUCKET, accessKeyId: "web-key", accessKeySecret: "web-secret", cname: true });
  return signer.client.signatureUrl(key, { method, expires: 60, subResource } as never).replace("//localhost:", "//127.0.0.1:");
}

async function stored(key: string): Promise<Buffer> {
  const res = await fetch(storage.presignGet(key, 60).url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "lb-web-upload-"));
  store = await startOssLocal({ port: 0, dataDir, bucket: BUCKET, accessKeyId: "web-key", accessKeySecret: "web-secret" });
  storage = createObjectStorage({ endpoint: store.url, bucket: BUCKET, accessKeyId: "web-key", accessKeySecret: "web-secret", cname: true });
});

afterAll(async () => {
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the dashboard's uploads to the store", () => {
  it("a typed file goes up in one presigned PUT without a Content-Type the URL was not signed for", async () => {
    const bytes = Buffer.from("hello lab\n");
    const signed = storage.presignPut("inputs/upl_1/data.txt", 60);
    const progress: UploadProgress[] = [];
    await putToStore({ upload_id: "upl_1", key: "inputs/upl_1/data.txt", method: "PUT", url: signed.url, headers: signed.headers, expires_at: signed.expiresAt },
      new File([bytes], "data.txt", { type: "text/plain" }), (p) => progress.push(p));
    expect(sha256(await stored("inputs/upl_1/data.txt"))).toBe(sha256(bytes));
    expect(progress[0]).toEqual({ phase: "uploading", done: 0, total: bytes.length });
  });

  it("a refused PUT is reported with the store's own code and message", async () => {
    const signed = storage.presignPut("inputs/upl_2/data.txt", 60);
    const forged = signed.url.replace(/Signature=[^&]+/, "Signature=AAAA");
    await expect(putToStore({ upload_id: "upl_2", key: "inputs/upl_2/data.txt", method: "PUT", url: forged, headers: {}, expires_at: signed.expiresAt },
      new File(["x"], "data.txt"), () => {})).rejects.toMatchObject({ code: "SignatureDoesNotMatch", status: 403 });
  });

  it("a file over the part size follows a multipart plan part by part and is completed whole", async () => {
    const partSize = 256 * 1024;
    const bytes = randomBytes(partSize * 2 + 1000);
    const key = "inputs/upl_3/big.bin";
    const { uploadId } = await storage.client.initMultipartUpload(key);
    const parts = [1, 2, 3].map((number) => ({ number, url: presign("PUT", key, { partNumber: String(number), uploadId }) }));
    const plan: MultipartUploadPlan = {
      key, upload_id: uploadId, method: "PUT", headers: {}, part_size: partSize, parts,
      complete: { method: "POST", url: presign("POST", key, { uploadId }), headers: {} },
      expires_at: new Date(Date.now() + 600_000).toISOString(),
    };
    const progress: number[] = [];
    await putToStore(plan, new File([bytes], "big.bin", { type: "application/octet-stream" }), (p) => progress.push(p.done));
    expect(progress).toEqual([partSize, partSize * 2, bytes.length]);
    expect(sha256(await stored(key))).toBe(sha256(bytes));
  });
});

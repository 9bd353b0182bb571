// A fake object store over a real socket, standing in for presigned GET/PUT URLs. Like
// OSS/S3 it refuses a PUT without a signature in the query, without Content-Length, or
// sent chunked, and it checks the signed header is present. With `partBytes` set it also
// speaks multipart as OSS does (part PUTs with partNumber and uploadId, a complete POST
// with the XML list of parts and their ETags, an abort DELETE), and presignFor answers a
// file over the part size with a multipart plan, `partsPerAnswer` part URLs at a time.
import { createHash } from "node:crypto";
import {
  attemptPrefix,
  partCount,
  type PresignedUpload,
  type PresignRequestMessage,
  type PresignResponseMessage,
} from "../../../packages/protocol/src/index.ts";

/** A multipart upload in progress. */
interface Upload {
  key: string;
  parts: Map<number, { bytes: Uint8Array; etag: string }>;
}

export interface StoredPut {
  key: string;
  bytes: Uint8Array;
  headers: Headers;
  sha256: string;
}

export const SIGNATURE = "Signature=s3cr3tSIGNATURE";

export class FakeStore {
  readonly blobs = new Map<string, Uint8Array>();
  readonly puts = new Map<string, StoredPut>();
  readonly putAttempts: string[] = [];
  readonly refused: string[] = [];
  /** Answer this many upcoming PUTs with 500 (a flaky store). */
  failPuts = 0;
  /** Hold every PUT this long before answering (a slow uplink). */
  putDelayMs = 0;
  /** Files over this size go in parts of this size (null: every file in one PUT). */
  partBytes: number | null = null;
  /** Part URLs one presign answer hands out for a file (the agent asks for the rest). */
  partsPerAnswer = 16;
  /** Answer the next PUTs of part number (key) with 500, that many times (value). */
  readonly failPart = new Map<number, number>();
  /** Every part PUT that reached the store, as "<key>#<number>", refused ones included. */
  readonly partAttempts: string[] = [];
  /** Keys of multipart uploads completed and aborted. */
  readonly completed: string[] = [];
  readonly aborted: string[] = [];
  readonly uploads = new Map<string, Upload>();
  /** Answer multipart requests with `Connection: close`. */
  closeConnections = false;
  private uploadCounter = 0;
  private readonly server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => this.handle(req));
  }

  get base(): string {
    return `http://127.0.0.1:${this.server.addr.port}`;
  }

  /** A presigned-looking GET URL for `bytes`. */
  getUrl(name: string, bytes: Uint8Array): string {
    this.blobs.set(name, bytes);
    return `${this.base}/get/${name}?${SIGNATURE}&Expires=1`;
  }

  /** What a gateway would answer to a presign.request for `jobId`. */
  presignFor(jobId: string) {
    return (req: PresignRequestMessage): PresignResponseMessage => ({
      type: "presign.response",
      request_id: req.request_id,
      error: null,
      uploads: req.files.map((f): PresignedUpload => {
        const key = `${attemptPrefix(jobId, req.attempt_id)}${f.path}`;
        const headers = { "Content-Type": "application/octet-stream", "x-oss-meta-attempt": req.attempt_id };
        const url = `${this.base}/put/${key}?${SIGNATURE}&Expires=1`;
        if (this.partBytes === null || !req.multipart || f.size <= this.partBytes) return { path: f.path, key, url, method: "PUT", headers };
        let uploadId = f.upload_id;
        let wanted = f.parts ?? [];
        if (uploadId === undefined) {
          uploadId = `UP${++this.uploadCounter}`;
          this.uploads.set(uploadId, { key, parts: new Map() });
          wanted = Array.from({ length: Math.min(this.partsPerAnswer, partCount(f.size, this.partBytes)) }, (_, i) => i + 1);
        }
        const q = `uploadId=${uploadId}&${SIGNATURE}&Expires=1`;
        return {
          path: f.path,
          key,
          method: "PUT",
          headers,
          multipart: {
            upload_id: uploadId,
            part_size: this.partBytes,
            parts: wanted.slice(0, this.partsPerAnswer).map((n) => ({ number: n, url: `${this.base}/put/${key}?partNumber=${n}&${q}` })),
            complete: { method: "POST", url: `${this.base}/put/${key}?${q}`, headers: { "Content-Type": "application/xml" } },
            abort: { method: "DELETE", url: `${this.base}/put/${key}?${q}`, headers: {} },
          },
        };
      }),
    });
  }

  async close(): Promise<void> {
    await this.server.shutdown();
  }

  private async handle(req: Request): Promise<Response> {
    const u = new URL(req.url);
    if (!u.search.includes(SIGNATURE)) return new Response("signature missing", { status: 403 });
    if (req.method === "GET" && u.pathname.startsWith("/get/")) {
      const blob = this.blobs.get(u.pathname.slice(5));
      return blob ? new Response(blob.slice()) : new Response("no such key", { status: 404 });
    }
    const uploadId = u.searchParams.get("uploadId");
    if (uploadId !== null && u.pathname.startsWith("/put/")) {
      const res = await this.handleMultipart(req, decodeURIComponent(u.pathname.slice(5)), uploadId, u);
      // One connection per request, so a proxy in front sees (and records) every one.
      if (this.closeConnections) res.headers.set("Connection", "close");
      return res;
    }
    if (req.method === "PUT" && u.pathname.startsWith("/put/")) {
      const key = decodeURIComponent(u.pathname.slice(5));
      this.putAttempts.push(key);
      const bytes = new Uint8Array(await req.arrayBuffer());
      if (this.putDelayMs > 0) await new Promise((r) => setTimeout(r, this.putDelayMs));
      const why = req.headers.get("transfer-encoding")?.includes("chunked")
        ? "chunked upload"
        : req.headers.get("content-length") !== String(bytes.length)
        ? `content-length ${req.headers.get("content-length")} for ${bytes.length} bytes`
        : !req.headers.get("x-oss-meta-attempt")
        ? "signed header missing"
        : null;
      if (why) {
        this.refused.push(`${key}: ${why}`);
        return new Response(why, { status: 400 });
      }
      if (this.failPuts > 0) {
        this.failPuts--;
        return new Response("flaky", { status: 500 });
      }
      this.puts.set(key, { key, bytes, headers: req.headers, sha256: createHash("sha256").update(bytes).digest("hex") });
      return new Response(null, { status: 200 });
    }
    return new Response("bad request", { status: 400 });
  }

  private async handleMultipart(req: Request, key: string, uploadId: string, u: URL): Promise<Response> {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.key !== key) return new Response("NoSuchUpload", { status: 404 });
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (req.method === "PUT") {
      const n = Number(u.searchParams.get("partNumber"));
      this.partAttempts.push(`${key}#${n}`);
      if (req.headers.get("content-length") !== String(bytes.length) || !req.headers.get("x-oss-meta-attempt")) {
        this.refused.push(`${key}#${n}: content-length or signed header`);
        return new Response("bad part", { status: 400 });
      }
      const fails = this.failPart.get(n) ?? 0;
      if (fails > 0) {
        this.failPart.set(n, fails - 1);
        return new Response("flaky", { status: 500 });
      }
      const etag = `"${createHash("md5").update(bytes).digest("hex")}"`;
      upload.parts.set(n, { bytes, etag });
      return new Response(null, { status: 200, headers: { ETag: etag } });
    }
    if (req.method === "DELETE") {
      this.uploads.delete(uploadId);
      this.aborted.push(key);
      return new Response(null, { status: 204 });
    }
    if (req.method === "POST") {
      if (req.headers.get("content-type") !== "application/xml") return new Response("content-type", { status: 400 });
      const listed = [...new TextDecoder().decode(bytes).matchAll(/<PartNumber>(\d+)<\/PartNumber><ETag>([^<]*)<\/ETag>/g)].map((m) => ({
        n: Number(m[1]),
        etag: m[2]!.replaceAll("&quot;", '"'),
      }));
      const chunks: Uint8Array[] = [];
      for (const p of listed) {
        const held = upload.parts.get(p.n);
        if (!held || held.etag !== p.etag) return new Response(`<Error><Code>InvalidPart</Code><PartNumber>${p.n}</PartNumber></Error>`, { status: 400 });
        chunks.push(held.bytes);
      }
      const whole = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        whole.set(c, at);
        at += c.length;
      }
      this.uploads.delete(uploadId);
      this.completed.push(key);
      this.puts.set(key, { key, bytes: whole, headers: req.headers, sha256: createHash("sha256").update(whole).digest("hex") });
      return new Response("<CompleteMultipartUploadResult/>", { status: 200 });
    }
    return new Response("bad request", { status: 400 });
  }
}

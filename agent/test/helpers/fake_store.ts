// A fake object store over a real socket, standing in for presigned GET/PUT URLs. Like
// OSS/S3 it refuses a PUT without a signature in the query, without Content-Length, or
// sent chunked, and it checks the signed header is present.
import { createHash } from "node:crypto";
import { attemptPrefix, type PresignRequestMessage, type PresignResponseMessage } from "../../../packages/protocol/src/index.ts";

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
      uploads: req.files.map((f) => {
        const key = `${attemptPrefix(jobId, req.attempt_id)}${f.path}`;
        return {
          path: f.path,
          key,
          url: `${this.base}/put/${key}?${SIGNATURE}&Expires=1`,
          method: "PUT" as const,
          headers: { "Content-Type": "application/octet-stream", "x-oss-meta-attempt": req.attempt_id },
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
}

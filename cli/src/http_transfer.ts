// File bytes between this machine and the object store, over presigned URLs, streamed with
// node:http so a 5 GiB part never sits in memory and progress counts real bytes sent. The
// API is never on this path.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/** The store's answer to a PUT or POST. */
export interface StoreAnswer {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

function requester(url: URL) {
  return url.protocol === "https:" ? httpsRequest : httpRequest;
}

function counting(onBytes: (n: number, chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length, chunk);
      done(null, chunk);
    },
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Sends bytes [start, end) of `path` with `method` to `url` with exactly `headers` (plus Content-Length). */
export function sendFileRange(
  method: string, url: string, headers: Record<string, string>, path: string, start: number, end: number, onBytes: (n: number) => void,
): Promise<StoreAnswer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = requester(target)(target, { method, headers: { ...headers, "content-length": String(end - start) } }, (res) => {
      readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
    });
    req.on("error", reject);
    // An empty range still needs a request with no body; createReadStream's end is inclusive.
    if (end === start) return void req.end();
    pipeline(createReadStream(path, { start, end: end - 1 }), counting(onBytes), req).catch(reject);
  });
}

/** Sends a small text body (the multipart completion) with `method` to `url`. */
export function sendText(method: string, url: string, headers: Record<string, string>, text: string): Promise<StoreAnswer> {
  const target = new URL(url);
  const body = Buffer.from(text, "utf8");
  return new Promise((resolve, reject) => {
    const req = requester(target)(target, { method, headers: { ...headers, "content-length": String(body.length) } }, (res) => {
      readAll(res).then((b) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }), reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Downloads `url` into `path` and returns the size and sha256 of what arrived. */
export function downloadFile(url: string, path: string, onBytes: (n: number) => void): Promise<{ status: number; size: number; sha256: string; body?: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = requester(target)(target, { method: "GET" }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) return void readAll(res).then((body) => resolve({ status, size: 0, sha256: "", body }), reject);
      const hash = createHash("sha256");
      let size = 0;
      const tap = counting((n, chunk) => {
        size += n;
        hash.update(chunk);
        onBytes(n);
      });
      pipeline(res, tap, createWriteStream(path)).then(() => resolve({ status, size, sha256: hash.digest("hex") }), reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** The sha256 of a whole file, read as a stream. */
export async function sha256File(path: string, onBytes: (n: number) => void = () => {}): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    onBytes((chunk as Buffer).length);
  }
  return hash.digest("hex");
}

/** The error code in an OSS XML error body, e.g. SignatureDoesNotMatch. */
export function storeErrorCode(body: string): string | null {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? null;
}

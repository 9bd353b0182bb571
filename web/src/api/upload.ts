// A local file becomes a job input without passing through the API: its sha256 is computed
// here (so the agent can check what it downloads), POST /v1/uploads answers with a presigned
// PUT (or a multipart plan for big files), and the bytes go straight to the store.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { api, ApiFailure } from "./client.ts";
import { completeUploadXml, partRange, type MultipartUploadPlan, type SingleUploadPlan } from "@labbridge/protocol";

/** Progress of one upload, for a progress bar. */
export interface UploadProgress {
  phase: "hashing" | "uploading" | "done";
  done: number;
  total: number;
}

// Incremental, so a multi-gigabyte file is never held in memory at once.
async function sha256Hex(file: Blob, onProgress: (done: number) => void): Promise<string> {
  const hash = sha256.create();
  const reader = file.stream().getReader();
  let done = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    hash.update(chunk.value);
    done += chunk.value.byteLength;
    onProgress(done);
  }
  return bytesToHex(hash.digest());
}

async function storeFailure(res: Response, what: string): Promise<ApiFailure> {
  const text = await res.text().catch(() => "");
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `http_${res.status}`;
  const message = /<Message>([^<]+)<\/Message>/.exec(text)?.[1] ?? res.statusText;
  return new ApiFailure(res.status, code, `${what} was refused by the object store: ${code}: ${message}`, res.headers.get("x-oss-request-id"));
}

// A Blob with a type makes the browser add Content-Type, which is part of the URL's
// signature: send exactly the headers the API named, on a body without a type of its own.
function untyped(blob: Blob): Blob {
  return blob.slice(0, blob.size, "");
}

async function putSingle(plan: SingleUploadPlan, file: File, onProgress: (p: UploadProgress) => void): Promise<void> {
  onProgress({ phase: "uploading", done: 0, total: file.size });
  const res = await fetch(plan.url, { method: plan.method, headers: plan.headers, body: untyped(file) });
  if (!res.ok) throw await storeFailure(res, `Upload of "${file.name}"`);
}

async function putMultipart(plan: MultipartUploadPlan, file: File, onProgress: (p: UploadProgress) => void): Promise<void> {
  const etags: { number: number; etag: string }[] = [];
  let sent = 0;
  for (const part of plan.parts) {
    const { start, end } = partRange(part.number, plan.part_size, file.size);
    const body = untyped(file.slice(start, end));
    const res = await fetch(part.url, { method: "PUT", headers: part.headers ?? plan.headers, body });
    if (!res.ok) throw await storeFailure(res, `Part ${part.number} of "${file.name}"`);
    const etag = res.headers.get("etag");
    if (!etag) throw new ApiFailure(res.status, "no_etag", `Part ${part.number} of "${file.name}": the store sent no ETag (is ETag exposed to browsers by the bucket's CORS rule?)`, null);
    etags.push({ number: part.number, etag });
    sent += body.size;
    onProgress({ phase: "uploading", done: sent, total: file.size });
  }
  const xml = completeUploadXml(etags);
  const res = await fetch(plan.complete.url, { method: plan.complete.method, headers: plan.complete.headers ?? {}, body: new Blob([xml]) });
  if (!res.ok) throw await storeFailure(res, `Completing "${file.name}"`);
}

/** Sends a file's bytes to the store as POST /v1/uploads planned it: one PUT, or part by part and completed. */
export async function putToStore(plan: SingleUploadPlan | MultipartUploadPlan, file: File, onProgress: (p: UploadProgress) => void): Promise<void> {
  if ("parts" in plan) await putMultipart(plan, file, onProgress);
  else await putSingle(plan, file, onProgress);
}

/** Uploads a file straight to the store; returns its object key, to use as a job input. */
export async function uploadFile(file: File, onProgress: (p: UploadProgress) => void): Promise<string> {
  onProgress({ phase: "hashing", done: 0, total: file.size });
  const digest = await sha256Hex(file, (done) => onProgress({ phase: "hashing", done, total: file.size }));
  const plan = await api<SingleUploadPlan | MultipartUploadPlan>("POST", "/v1/uploads", { name: file.name, size: file.size, sha256: digest });
  await putToStore(plan, file, onProgress);
  onProgress({ phase: "done", done: file.size, total: file.size });
  return plan.key;
}

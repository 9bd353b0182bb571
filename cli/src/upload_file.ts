// One local file into the object store, as API.md "Uploads" plans it: one PUT, or parts in
// parallel and a completion. The plan's upload id is remembered first, so if this run dies
// the next one asks GET /v1/uploads/{id} which parts the store holds and sends only the rest.
import { stat } from "node:fs/promises";
import {
  completeUploadXml, partCount, partRange, type HeldPart, type MultipartUploadPlan, type MultipartUploadStatus,
  type SingleUploadPlan,
} from "@labbridge/protocol";
import type { ApiClient } from "./api_client.ts";
import { CliError, EXIT } from "./exit_codes.ts";
import { sendFileRange, sendText, sha256File, storeErrorCode, type StoreAnswer } from "./http_transfer.ts";
import type { Bar, Progress } from "./progress.ts";
import { recallUpload, rememberUpload, type FileIdentity } from "./upload_state.ts";

/** A file that is now in the store. */
export interface UploadedFile {
  path: string;
  key: string;
  upload_id: string;
  size: number;
  sha256: string;
  /** `new`: sent now; `resumed`: an interrupted upload finished; `reused`: already in the store. */
  how: "new" | "resumed" | "reused";
  /** Bytes this run sent. */
  sent_bytes: number;
}

/** How to send. */
export interface UploadOptions {
  /** Parts in flight at once. */
  parallel: number;
  progress: Progress;
  note: (line: string) => void;
}

type Plan = SingleUploadPlan | MultipartUploadPlan;
type Status = (SingleUploadPlan | MultipartUploadStatus) & { state: "uploading" | "complete"; size: number };

function isMultipart(plan: Plan): plan is MultipartUploadPlan {
  return Array.isArray((plan as MultipartUploadPlan).parts);
}

/** Uploads `path` as `name` (resuming or reusing a remembered upload of the same content). */
export async function uploadFile(api: ApiClient, path: string, name: string, opts: UploadOptions): Promise<UploadedFile> {
  const info = await stat(path);
  const sha256 = await sha256File(path);
  const identity: FileIdentity = { path, size: info.size, mtimeMs: info.mtimeMs, sha256 };
  const base = { path, size: info.size, sha256 };

  const remembered = await recallUpload(identity, api.server);
  if (remembered) {
    const status = await api.call<Status>("GET", `/v1/uploads/${encodeURIComponent(remembered.upload_id)}`, { accept: [404] });
    if (status.status === 200 && status.body.state === "complete") {
      opts.note(`${name}: already in the store as ${status.body.key}`);
      await rememberUpload(identity, { ...remembered, done: true });
      return { ...base, key: status.body.key, upload_id: status.body.upload_id, how: "reused", sent_bytes: 0 };
    }
    if (status.status === 200 && heldPartsFit(status.body, info.size)) {
      const held = isMultipart(status.body) ? (status.body as MultipartUploadStatus).held : [];
      if (held.length) opts.note(`${name}: resuming upload ${status.body.upload_id}, ${held.length} of ${partCount(info.size, (status.body as MultipartUploadPlan).part_size)} parts already in the store`);
      const sent = await send(api, status.body, held, path, name, info.size, opts);
      await rememberUpload(identity, { ...remembered, done: true });
      return { ...base, key: status.body.key, upload_id: status.body.upload_id, how: "resumed", sent_bytes: sent };
    }
    await rememberUpload(identity, null);
  }

  const plan = (await api.call<Plan>("POST", "/v1/uploads", { body: { name, size: info.size, sha256 } })).body;
  // Remembered before any byte moves: that is what makes a killed run resumable.
  await rememberUpload(identity, { server: api.server, upload_id: plan.upload_id, key: plan.key, done: false });
  const sent = await send(api, plan, [], path, name, info.size, opts);
  await rememberUpload(identity, { server: api.server, upload_id: plan.upload_id, key: plan.key, done: true });
  return { ...base, key: plan.key, upload_id: plan.upload_id, how: "new", sent_bytes: sent };
}

/** A held part of the wrong size (the file changed under the same identity) means starting over. */
function heldPartsFit(status: Status, size: number): boolean {
  if (!isMultipart(status)) return true;
  const { part_size: partSize, held } = status as MultipartUploadStatus;
  return held.every((p) => p.number <= partCount(size, partSize) && p.size === partRange(p.number, partSize, size).end - partRange(p.number, partSize, size).start);
}

async function send(api: ApiClient, plan: Plan, held: HeldPart[], path: string, name: string, size: number, opts: UploadOptions): Promise<number> {
  const heldBytes = held.reduce((sum, p) => sum + p.size, 0);
  const bar = opts.progress.bar(name, size);
  bar.add(heldBytes);
  let sent = 0;
  const count = (n: number) => {
    sent += n;
    bar.add(n);
  };
  if (!isMultipart(plan)) {
    expectStored(await sendFileRange(plan.method, plan.url, plan.headers, path, 0, size, count), `Upload of "${name}"`);
    bar.done(`${name}: uploaded ${size} bytes`);
    return sent;
  }
  const total = partCount(size, plan.part_size);
  const etags = new Map<number, string>(held.map((p) => [p.number, p.etag]));
  let current: MultipartUploadPlan = plan;
  const queue = [...plan.parts];
  const worker = async () => {
    for (let part = queue.shift(); part; part = queue.shift()) {
      const { start, end } = partRange(part.number, current.part_size, size);
      let answer = await sendPart(current, part.url, path, start, end, count);
      if (answer.status === 403) {
        // Most likely the URL expired on a long upload: ask for fresh URLs of what is left.
        current = await refreshed(api, current);
        const fresh = current.parts.find((p) => p.number === part!.number);
        if (fresh) answer = await sendPart(current, fresh.url, path, start, end, count);
      }
      const etag = expectStored(answer, `Part ${part.number} of "${name}"`).headers.etag;
      if (typeof etag !== "string") throw new CliError(`Part ${part.number} of "${name}" was stored without an ETag: the store is not OSS-compatible`, EXIT.api);
      etags.set(part.number, etag);
      bar.step(`${name}: part ${part.number}/${total} uploaded`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel, queue.length)) }, worker));
  const parts = [...etags].sort(([a], [b]) => a - b).map(([number, etag]) => ({ number, etag }));
  if (parts.length !== total) throw new CliError(`Upload of "${name}" has ${parts.length} of ${total} parts: run the command again to resume`, EXIT.api);
  const complete = current.complete;
  expectStored(await sendText(complete.method, complete.url, complete.headers, completeUploadXml(parts)), `Completing the upload of "${name}"`);
  bar.done(`${name}: uploaded ${size} bytes in ${total} parts`);
  return sent;
}

async function sendPart(plan: MultipartUploadPlan, url: string, path: string, start: number, end: number, count: (n: number) => void): Promise<StoreAnswer> {
  let counted = 0;
  const answer = await sendFileRange(plan.method, url, plan.headers, path, start, end, (n) => {
    counted += n;
    count(n);
  });
  // A refused part is sent again in full: take its bytes off the count.
  if (answer.status !== 200) count(-counted);
  return answer;
}

async function refreshed(api: ApiClient, plan: MultipartUploadPlan): Promise<MultipartUploadPlan> {
  return (await api.call<MultipartUploadStatus>("GET", `/v1/uploads/${encodeURIComponent(plan.upload_id)}`)).body;
}

function expectStored(answer: StoreAnswer, what: string): StoreAnswer {
  if (answer.status === 200) return answer;
  const code = storeErrorCode(answer.body);
  throw new CliError(`${what} was refused by the object store: HTTP ${answer.status}${code ? ` ${code}` : ""}`, answer.status === 403 ? EXIT.auth : EXIT.api);
}

// `lb submit [options] -- <command…>`: uploads the local inputs straight to the store, then
// submits the job with an Idempotency-Key, so a submit retried after a lost answer returns
// the first job instead of making a second one. With --follow, follows it to the end.
import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import type { JobView } from "@labbridge/protocol";
import type { ApiClient } from "../api_client.ts";
import { CliError, EXIT } from "../exit_codes.ts";
import { followJob } from "../follow_job.ts";
import { localInputs } from "../local_inputs.ts";
import type { Output } from "../output.ts";
import { createProgress } from "../progress.ts";
import { uploadFile, type UploadedFile } from "../upload_file.ts";

/** Options of `lb submit`. */
export interface SubmitOptions {
  name?: string;
  input: string[];
  gpus?: number;
  label: Record<string, string>;
  env: Record<string, string>;
  os?: string;
  timeout?: number;
  maxAttempts?: number;
  priority?: number;
  idempotencyKey?: string;
  parallel: number;
  follow?: boolean;
}

/** Uploads, submits and (with --follow) follows; returns the exit code. */
export async function submit(api: ApiClient, command: string[], opts: SubmitOptions, out: Output): Promise<number> {
  if (command.length === 0) throw new CliError("No command given: put it after --, e.g. lb submit -- python train.py", EXIT.usage);
  const inputs = await localInputs(opts.input);
  const progress = createProgress(out);
  const uploaded: (UploadedFile & { input_path: string })[] = [];
  try {
    // One file at a time (its parts in parallel): the state file is written by one writer.
    for (const input of inputs) uploaded.push({ ...(await uploadFile(api, input.file, basename(input.file), { parallel: opts.parallel, progress, note: out.note })), input_path: input.path });
  } finally {
    progress.stop();
  }
  const requirements: Record<string, unknown> = {};
  if (opts.gpus !== undefined) requirements.gpus = opts.gpus;
  if (Object.keys(opts.label).length) requirements.labels = opts.label;
  if (opts.os) requirements.os = opts.os;
  const body: Record<string, unknown> = {
    command,
    inputs: uploaded.map((u) => ({ key: u.key, path: u.input_path })),
    ...(opts.name ? { name: opts.name } : {}),
    ...(Object.keys(opts.env).length ? { env: opts.env } : {}),
    ...(Object.keys(requirements).length ? { requirements } : {}),
    ...(opts.timeout !== undefined ? { timeout_seconds: opts.timeout } : {}),
    ...(opts.maxAttempts !== undefined ? { max_attempts: opts.maxAttempts } : {}),
    ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
  };
  const idempotencyKey = opts.idempotencyKey ?? `lb-${randomUUID()}`;
  const created = await api.call<JobView>("POST", "/v1/jobs", { body, headers: { "idempotency-key": idempotencyKey }, tries: 5 });
  const job = created.body;
  const uploads = uploaded.map(({ path, key, upload_id, size, sha256, how, sent_bytes }) => ({ path, key, upload_id, size, sha256, how, sent_bytes }));
  if (!opts.follow) {
    out.result({ job, uploads, idempotency_key: idempotencyKey }, () => job.id);
    return EXIT.ok;
  }
  if (out.json) process.stdout.write(`${JSON.stringify({ event: "submitted", job, uploads, idempotency_key: idempotencyKey })}\n`);
  else out.note(`submitted ${job.id}`);
  const ended = await followJob(api, job.id, out);
  if (out.json) process.stdout.write(`${JSON.stringify({ event: "ended", job: ended })}\n`);
  else out.note(`job ${ended.id} ended ${ended.state}`);
  return ended.state === "SUCCEEDED" ? EXIT.ok : EXIT.jobFailed;
}

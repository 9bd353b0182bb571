// `lb download <job> [dir]`: every output of the job's current attempt, straight from the
// store over presigned GETs, each checked against the size and sha256 the agent reported.
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { relativePathProblem, type OutputLink, type Page } from "@labbridge/protocol";
import type { ApiClient } from "../api_client.ts";
import { causeOf } from "../api_client.ts";
import { CliError, EXIT } from "../exit_codes.ts";
import { downloadFile } from "../http_transfer.ts";
import type { Output } from "../output.ts";
import { createProgress } from "../progress.ts";

/** Downloads the outputs into `dir` (default: a folder named after the job). */
export async function download(api: ApiClient, jobId: string, dir: string | undefined, out: Output): Promise<void> {
  const items: OutputLink[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=500&cursor=${encodeURIComponent(cursor)}` : "";
    const page: Page<OutputLink> = (await api.call("GET", `/v1/jobs/${encodeURIComponent(jobId)}/outputs${query}`)).body;
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  const root = resolve(dir ?? jobId);
  const progress = createProgress(out);
  const files = [];
  try {
    for (const item of items) {
      // The path came from an agent: never let it step out of the target folder.
      const problem = relativePathProblem(item.path);
      if (problem) throw new CliError(`Output path "${item.path}" is not safe to write: ${problem}`, EXIT.integrity);
      const target = join(root, ...item.path.split("/"));
      await mkdir(dirname(target), { recursive: true });
      const temp = `${target}.lb-partial`;
      const bar = progress.bar(item.path, item.size);
      let got;
      try {
        got = await downloadFile(item.url, temp, (n) => bar.add(n));
      } catch (err) {
        throw new CliError(`Cannot download "${item.path}": ${causeOf(err)}`, EXIT.unavailable);
      }
      if (got.status !== 200) {
        await rm(temp, { force: true });
        throw new CliError(`The store refused "${item.path}": HTTP ${got.status}`, EXIT.api);
      }
      if (got.size !== item.size || (item.sha256 && got.sha256 !== item.sha256)) {
        await rm(temp, { force: true });
        throw new CliError(`Output "${item.path}" arrived damaged: expected ${item.size} bytes with sha256 ${item.sha256}, got ${got.size} bytes with sha256 ${got.sha256}`, EXIT.integrity);
      }
      await rename(temp, target);
      bar.done(`${item.path}: ${got.size} bytes, sha256 ok`);
      files.push({ path: item.path, file: target, size: got.size, sha256: got.sha256 });
    }
  } finally {
    progress.stop();
  }
  out.result({ dir: root, files }, () => `${files.length} file(s) in ${root}`);
}

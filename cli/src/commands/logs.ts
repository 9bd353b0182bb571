// `lb logs [-f] <job>`: with -f, the live `log` lines of the events stream until the job
// ends; without, the full logs of the latest attempt, fetched from the store over the
// presigned URLs of GET /v1/jobs/{id}/logs (the bytes never pass the API).
import { isTerminalJobState, type LogLink } from "@labbridge/protocol";
import type { ApiClient } from "../api_client.ts";
import { CliError, EXIT } from "../exit_codes.ts";
import { followJob } from "../follow_job.ts";
import type { Output } from "../output.ts";

/** Prints or follows a job's logs; returns the exit code. */
export async function logs(api: ApiClient, jobId: string, opts: { follow?: boolean; allAttempts?: boolean }, out: Output): Promise<number> {
  if (opts.follow) {
    const job = await followJob(api, jobId, out);
    return job.state === "SUCCEEDED" ? EXIT.ok : isTerminalJobState(job.state) ? EXIT.jobFailed : EXIT.ok;
  }
  const items = (await api.call<{ items: LogLink[] }>("GET", `/v1/jobs/${encodeURIComponent(jobId)}/logs`)).body.items;
  // The API lists the latest attempt first.
  const latest = items[0]?.attempt_id;
  const chosen = opts.allAttempts ? items : items.filter((i) => i.attempt_id === latest);
  if (out.json) {
    const withText = [];
    for (const item of chosen) withText.push({ ...item, text: await fetchText(item) });
    out.result({ items: withText }, () => "");
    return EXIT.ok;
  }
  for (const item of chosen) {
    const text = await fetchText(item);
    (item.stream === "stderr" ? process.stderr : process.stdout).write(text);
  }
  return EXIT.ok;
}

async function fetchText(item: LogLink): Promise<string> {
  let res: Response;
  try {
    res = await fetch(item.url);
  } catch (err) {
    throw new CliError(`Cannot fetch the ${item.stream} log of attempt "${item.attempt_id}": ${(err as Error).message}`, EXIT.unavailable);
  }
  if (!res.ok) throw new CliError(`The store refused the ${item.stream} log of attempt "${item.attempt_id}": HTTP ${res.status}`, EXIT.api);
  return res.text();
}

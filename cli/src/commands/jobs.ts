// `lb status <job>`, `lb ls`, `lb cancel <job>`: the job as the API tells it, for people
// (state, why it waits, attempts) or as JSON.
import type { JobView, Page } from "@labbridge/protocol";
import type { ApiClient } from "../api_client.ts";
import { table, type Output } from "../output.ts";

function describe(job: JobView): string {
  const lines = [`${job.id}${job.name ? ` (${job.name})` : ""}: ${job.state}`];
  const queue = job.queue;
  if (queue) lines.push(`  queue: position ${queue.position}, ${queue.reason}: ${queue.message}`);
  for (const a of job.attempts ?? []) {
    const end = a.exit_code !== null && a.exit_code !== undefined ? `, exit ${a.exit_code}` : "";
    lines.push(`  attempt ${a.number} ${a.id} on ${a.agent_id ?? "-"}: ${a.state}${end}${a.error ? `, ${a.error.code}: ${a.error.message}` : ""}`);
  }
  return lines.join("\n");
}

/** Prints one job. */
export async function status(api: ApiClient, id: string, out: Output): Promise<void> {
  const job = (await api.call<JobView>("GET", `/v1/jobs/${encodeURIComponent(id)}`)).body;
  out.result(job, () => describe(job));
}

/** Prints the caller's jobs, following cursors up to `limit`. */
export async function list(api: ApiClient, opts: { state?: string; namePrefix?: string; limit: number }, out: Output): Promise<void> {
  const items: JobView[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(Math.min(500, opts.limit - items.length)) });
    if (opts.state) query.set("state", opts.state);
    if (opts.namePrefix) query.set("name_prefix", opts.namePrefix);
    if (cursor) query.set("cursor", cursor);
    const page: Page<JobView> = (await api.call("GET", `/v1/jobs?${query}`)).body;
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < opts.limit);
  out.result({ items }, () =>
    table(["ID", "STATE", "NAME", "CREATED"], items.map((j) => [j.id, j.state, j.name ?? "", String(j.created_at ?? "")])),
  );
}

/** Cancels one job. */
export async function cancel(api: ApiClient, id: string, out: Output): Promise<void> {
  const job = (await api.call<JobView>("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`)).body;
  out.result(job, () => `${job.id}: ${job.state}`);
}

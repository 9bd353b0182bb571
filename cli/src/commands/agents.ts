// `lb agents`, `lb pause <agent>`, `lb resume <agent>`: the lab's workstations.
import type { AgentView, EnrollmentToken, Page } from "@labbridge/protocol";
import type { ApiClient } from "../api_client.ts";
import { table, type Output } from "../output.ts";

/** Lists the agents. */
export async function agents(api: ApiClient, out: Output): Promise<void> {
  const items: AgentView[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<AgentView> = (await api.call("GET", `/v1/agents?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)).body;
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  out.result({ items }, () =>
    table(
      ["ID", "NAME", "STATUS", "PAUSED", "GPUS", "RUNNING"],
      items.map((a) => [a.id, a.name, a.status, a.paused ? `yes${a.pause_reason ? `: ${a.pause_reason}` : ""}` : "no", (a.gpus ?? []).map((g) => g.name).join(", "), String(a.running?.length ?? 0)]),
    ),
  );
}

/** Pauses (or resumes) one agent. */
export async function setPaused(api: ApiClient, id: string, paused: boolean, opts: { reason?: string; stopRunning?: boolean }, out: Output): Promise<void> {
  const path = `/v1/agents/${encodeURIComponent(id)}/${paused ? "pause" : "resume"}`;
  const body = paused ? { ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.stopRunning ? { stop_running: true } : {}) } : undefined;
  const answer = await api.call("POST", path, { body });
  out.result(answer.body ?? { id, paused }, () => `${id}: ${paused ? "paused" : "resumed"}`);
}

/** Makes a one-use enrollment token (admin), printed alone on stdout for LB_ENROLL_TOKEN=$(…). */
export async function enrollmentToken(api: ApiClient, opts: { label: Record<string, string>; ttl?: number }, out: Output): Promise<void> {
  const body = { ...(opts.ttl !== undefined ? { ttl_seconds: opts.ttl } : {}), ...(Object.keys(opts.label).length ? { labels: opts.label } : {}) };
  const made = (await api.call<EnrollmentToken>("POST", "/v1/enrollment-tokens", { body })).body;
  out.result(made, () => made.token);
  out.note(`one use, expires ${made.expires_at}`);
}

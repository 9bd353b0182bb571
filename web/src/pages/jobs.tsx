// Jobs: a live list (polled) filtered by state and owner (GET /v1/jobs?state=&owner=), with
// why each PENDING job waits. Filters live in the URL, so a filtered view can be shared.
import { JOB_STATES } from "@labbridge/protocol";
import { api, query } from "../api/client.ts";
import type { JobView, Me, Page } from "@labbridge/protocol";
import { ErrorBox } from "../components/error_box.tsx";
import { StateBadge } from "../components/state_badge.tsx";
import { TimeAgo } from "../components/time_ago.tsx";
import { go, href } from "../router.ts";
import { usePoll } from "../use_poll.ts";

const POLL_MS = 2000;

/** Why a PENDING job waits, in a line. */
export function QueueLine({ job }: { job: JobView }) {
  if (!job.queue) return <span class="muted">—</span>;
  return (
    <span class="queue" title={job.queue.message}>
      #{job.queue.position} · <code>{job.queue.reason}</code> <span class="muted">{job.queue.message}</span>
    </span>
  );
}

/** The jobs list page. */
export function JobsPage({ query: q, me }: { query: URLSearchParams; me: Me | null }) {
  const state = q.get("state") ?? "";
  const owner = q.get("owner") ?? "";
  const cursor = q.get("cursor") ?? "";
  const { data, error } = usePoll(() => api<Page<JobView>>("GET", `/v1/jobs${query({ state, owner, cursor, limit: 50 })}`), POLL_MS, [state, owner, cursor]);
  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams({ state, owner });
    next.set(name, value);
    next.delete("cursor");
    for (const [k, v] of [...next]) if (!v) next.delete(k);
    go(`#/jobs${next.size ? "?" + next.toString() : ""}`);
  };
  return (
    <section>
      <h1>Jobs</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select name="state" value={state} onChange={(e) => setFilter("state", e.currentTarget.value)}>
            <option value="">any</option>
            {JOB_STATES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        {me?.role !== "user" && (
          <label>
            Owner
            <input name="owner" value={owner} placeholder="any" onChange={(e) => setFilter("owner", e.currentTarget.value.trim())} />
          </label>
        )}
      </form>
      <ErrorBox error={error} />
      {!data && !error && <p class="muted">Loading…</p>}
      {data && (
        <table class="list jobs">
          <thead>
            <tr><th>Job</th><th>Name</th><th>State</th><th>Owner</th><th>Queue</th><th>Created</th><th>Updated</th></tr>
          </thead>
          <tbody>
            {data.items.length === 0 && <tr><td colSpan={7} class="muted">No jobs{state || owner ? " match these filters" : " yet"}.</td></tr>}
            {data.items.map((j) => (
              <tr key={j.id} data-job-id={j.id}>
                <td><a href={href("jobs", j.id)}><code>{j.id}</code></a></td>
                <td>{j.name ?? <span class="muted">—</span>}</td>
                <td><StateBadge state={j.state} /></td>
                <td>{j.owner}</td>
                <td><QueueLine job={j} /></td>
                <td><TimeAgo at={j.created_at} /></td>
                <td><TimeAgo at={j.updated_at} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="pager">
        {cursor && <a href={href("jobs") + (state || owner ? "?" + new URLSearchParams(Object.entries({ state, owner }).filter(([, v]) => v)).toString() : "")}>First page</a>}
        {data?.next_cursor && <a href={"#/jobs?" + new URLSearchParams(Object.entries({ state, owner, cursor: data.next_cursor }).filter(([, v]) => v)).toString()}>Next page</a>}
      </p>
    </section>
  );
}

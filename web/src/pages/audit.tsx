// The audit trail (admins): every privileged or security-relevant act, newest first as
// the API lists it, with the request id that ties a row to the logs.
import { useState } from "preact/hooks";
import { api, query } from "../api/client.ts";
import type { AuditRow, Page } from "@labbridge/protocol";
import { ErrorBox } from "../components/error_box.tsx";
import { TimeAgo } from "../components/time_ago.tsx";
import { usePoll } from "../use_poll.ts";

/** The audit page. */
export function AuditPage() {
  const [cursor, setCursor] = useState<string | null>(null);
  const [filters, setFilters] = useState({ actor: "", action: "" });
  const { data, error } = usePoll(() => api<Page<AuditRow>>("GET", `/v1/audit${query({ ...filters, cursor, limit: 100 })}`), 10_000, [cursor, filters.actor, filters.action]);
  const filter = (name: keyof typeof filters) => ({
    name,
    value: filters[name],
    // Applied on Enter or leaving the field, not per keystroke.
    onChange: (e: Event) => (setFilters({ ...filters, [name]: (e.currentTarget as HTMLInputElement).value.trim() }), setCursor(null)),
  });
  return (
    <section>
      <h1>Audit</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Actor <input {...filter("actor")} placeholder="any" /></label>
        <label>Action <input {...filter("action")} placeholder="e.g. api_token.created" /></label>
      </form>
      <ErrorBox error={error} />
      {data && (
        <table class="list audit">
          <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th>Result</th><th>Request id</th><th>Details</th></tr></thead>
          <tbody>
            {data.items.length === 0 && <tr><td colSpan={7} class="muted">Nothing recorded yet.</td></tr>}
            {data.items.map((r, i) => (
              <tr key={i}>
                <td><TimeAgo at={r.at} /></td>
                <td>{r.actor} {r.role && <span class="muted">({r.role})</span>}</td>
                <td><code>{r.action}</code></td>
                <td>{r.target_type ? <>{r.target_type} <code>{r.target_id}</code></> : "—"}</td>
                <td class={`result-${r.result}`}>{r.result}</td>
                <td>{r.request_id ? <code>{r.request_id}</code> : "—"}</td>
                <td>{r.details && Object.keys(r.details).length ? <code class="details">{JSON.stringify(r.details)}</code> : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="pager">
        {cursor && <button type="button" class="link" onClick={() => setCursor(null)}>First page</button>}
        {data?.next_cursor && <button type="button" class="link" onClick={() => setCursor(data.next_cursor)}>Next page</button>}
      </p>
    </section>
  );
}

// One job: its state live from GET /v1/jobs/{id}/events (state changes, progress and log
// lines), attempts, history, queue reason, outputs with download links, and cancel.
import { isTerminalJobState } from "@labbridge/protocol";
import { useEffect, useState } from "preact/hooks";
import { api, ApiFailure, asFailure } from "../api/client.ts";
import { followJobEvents } from "../api/job_events.ts";
import type { JobEvent, JobView, LogLink, OutputLink, Page } from "@labbridge/protocol";
import { ErrorBox } from "../components/error_box.tsx";
import { LiveLog, MAX_LOG_LINES, type LogLine } from "../components/live_log.tsx";
import { StateBadge } from "../components/state_badge.tsx";
import { TimeAgo } from "../components/time_ago.tsx";
import { bytes } from "@labbridge/format";
import { argvLine } from "../format.ts";
import { href } from "../router.ts";
import { QueueLine } from "./jobs.tsx";

const RECONNECT_MS = 1500;

function useJob(id: string) {
  const [job, setJob] = useState<JobView | null>(null);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [following, setFollowing] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  const reload = () => api<JobView>("GET", `/v1/jobs/${encodeURIComponent(id)}`).then(setJob, (e) => setError(asFailure(e)));

  useEffect(() => {
    const abort = new AbortController();
    setJob(null);
    setLines([]);
    const add = (line: LogLine) => setLines((ls) => [...ls, line].slice(-MAX_LOG_LINES));
    const onEvent = (e: JobEvent) => {
      if (e.event === "job") setJob(e.data);
      else if (e.event === "state") void reload();
      else if (e.event === "progress") add({ kind: "progress", text: e.data.message, at: e.data.at });
      else if (e.event === "log") add({ kind: e.data.stream === "stderr" ? "stderr" : "stdout", text: e.data.line, at: e.data.at ?? null });
    };
    // The stream ends with the job; one that drops earlier (a restarted API) is opened again.
    const follow = async () => {
      while (!abort.signal.aborted) {
        setFollowing(true);
        try {
          await followJobEvents(id, onEvent, abort.signal);
          setError(null);
        } catch (err) {
          setError(asFailure(err));
          if (err instanceof ApiFailure && err.status >= 400 && err.status < 500) break;
        }
        setFollowing(false);
        const latest = await api<JobView>("GET", `/v1/jobs/${encodeURIComponent(id)}`).catch(() => null);
        if (latest) setJob(latest);
        if (!latest || isTerminalJobState(latest.state)) break;
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
      }
      setFollowing(false);
    };
    void follow();
    return () => abort.abort();
  }, [id]);
  return { job, lines, following, error, reload, setError };
}

function Outputs({ job }: { job: JobView }) {
  const [links, setLinks] = useState<OutputLink[] | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const count = job.outputs.length;
  useEffect(() => {
    if (count === 0) return;
    api<Page<OutputLink>>("GET", `/v1/jobs/${encodeURIComponent(job.id)}/outputs`).then((p) => setLinks(p.items), (e) => setError(asFailure(e)));
  }, [job.id, count]);
  if (count === 0) return <p class="muted">No outputs{isTerminalJobState(job.state) ? "" : " yet"}.</p>;
  return (
    <>
      <ErrorBox error={error} />
      <table class="list outputs">
        <thead><tr><th>Path</th><th>Size</th><th>sha256</th></tr></thead>
        <tbody>
          {(links ?? job.outputs.map((o) => ({ ...o, url: null }))).map((o) => (
            <tr key={o.key}>
              <td>{o.url ? <a href={o.url} target="_blank" rel="noreferrer" download={o.path.split("/").pop()}>{o.path}</a> : o.path}</td>
              <td>{bytes(o.size)}</td>
              <td><code class="hash" title={o.sha256}>{o.sha256.slice(0, 12)}…</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

// The whole stdout and stderr of each attempt, from the store, once the job has finished.
function FullLogs({ job }: { job: JobView }) {
  const [links, setLinks] = useState<LogLink[] | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const finished = isTerminalJobState(job.state);
  useEffect(() => {
    if (!finished || job.attempts.length === 0) return;
    api<{ items: LogLink[] }>("GET", `/v1/jobs/${encodeURIComponent(job.id)}/logs`).then((p) => setLinks(p.items), (e) => setError(asFailure(e)));
  }, [job.id, finished]);
  if (!finished || job.attempts.length === 0) return null;
  return (
    <div class="full-logs">
      <ErrorBox error={error} />
      {links && links.length === 0 && <p class="muted">No logs were stored.</p>}
      {links?.map((l) => (
        <a key={l.key} href={l.url} target="_blank" rel="noreferrer" class="log-link">
          {l.stream} of <code>{l.attempt_id}</code> ({bytes(l.size)})
        </a>
      ))}
    </div>
  );
}

/** The job detail page. */
export function JobDetailPage({ id }: { id: string }) {
  const { job, lines, following, error, reload, setError } = useJob(id);
  const [cancelling, setCancelling] = useState(false);
  const cancel = async () => {
    setCancelling(true);
    try {
      await api<JobView>("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`);
      await reload();
    } catch (err) {
      setError(asFailure(err));
    } finally {
      setCancelling(false);
    }
  };
  if (!job) return <section><p><a href={href("jobs")}>← Jobs</a></p><ErrorBox error={error} />{!error && <p class="muted">Loading…</p>}</section>;
  const finished = isTerminalJobState(job.state);
  return (
    <section class="job-detail">
      <p><a href={href("jobs")}>← Jobs</a></p>
      <h1>
        {job.name ?? "Job"} <code>{job.id}</code> <StateBadge state={job.state} />
        {!finished && (
          <button type="button" class="danger" onClick={cancel} disabled={cancelling || job.cancel_requested}>
            {job.cancel_requested ? "Cancel requested" : "Cancel job"}
          </button>
        )}
      </h1>
      <ErrorBox error={error} />
      <dl class="facts">
        <dt>Owner</dt><dd>{job.owner}</dd>
        <dt>Command</dt><dd><code>{argvLine(job.command)}</code></dd>
        <dt>Requirements</dt><dd><code>{JSON.stringify(job.requirements)}</code></dd>
        <dt>Inputs</dt><dd>{job.inputs.length ? job.inputs.map((i) => <div key={i.key}><code>{i.path}</code> <span class="muted">← {i.key}</span></div>) : <span class="muted">none</span>}</dd>
        <dt>Created</dt><dd><TimeAgo at={job.created_at} /></dd>
        <dt>Updated</dt><dd><TimeAgo at={job.updated_at} /></dd>
        {job.queue && <><dt>Queue</dt><dd><QueueLine job={job} /></dd></>}
      </dl>
      <h2>Logs</h2>
      <LiveLog lines={lines} following={following} />
      <FullLogs job={job} />
      <h2>Outputs</h2>
      <Outputs job={job} />
      <h2>Attempts</h2>
      <table class="list attempts">
        <thead><tr><th>#</th><th>Attempt</th><th>Agent</th><th>State</th><th>Assigned</th><th>Started</th><th>Finished</th><th>Exit</th><th>Error</th></tr></thead>
        <tbody>
          {job.attempts.length === 0 && <tr><td colSpan={9} class="muted">None yet.</td></tr>}
          {job.attempts.map((a) => (
            <tr key={a.id}>
              <td>{a.number}</td><td><code>{a.id}</code></td><td><code>{a.agent_id}</code></td><td><StateBadge state={a.state} /></td>
              <td><TimeAgo at={a.assigned_at} /></td><td><TimeAgo at={a.started_at} /></td><td><TimeAgo at={a.finished_at} /></td>
              <td>{a.exit_code ?? "—"}</td><td>{a.error ? <><code>{a.error.code}</code> {a.error.message}</> : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>History</h2>
      <table class="list history">
        <thead><tr><th>State</th><th>When</th><th>Cause</th></tr></thead>
        <tbody>
          {job.history.map((h, i) => (
            <tr key={i}><td><StateBadge state={h.state} /></td><td><TimeAgo at={h.at} /></td><td>{h.cause}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

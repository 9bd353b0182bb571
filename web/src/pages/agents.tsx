// Agents: status, whether and why paused (the `pause` object: api, local, gpu_busy or
// user_active), GPUs with live memory and utilization, running attempts; pause and resume.
import { useState } from "preact/hooks";
import { api, ApiFailure, asFailure } from "../api/client.ts";
import type { AgentGpu, AgentView, Me, Page } from "@labbridge/protocol";
import { ErrorBox } from "../components/error_box.tsx";
import { Meter } from "../components/meter.tsx";
import { StateBadge } from "../components/state_badge.tsx";
import { TimeAgo } from "../components/time_ago.tsx";
import { memory } from "../format.ts";
import { usePoll } from "../use_poll.ts";

const POLL_MS = 2000;

const PAUSE_SOURCES: Record<string, string> = {
  api: "paused through the API",
  local: "paused on the workstation",
  gpu_busy: "paused: someone else is using the GPU",
  user_active: "paused: someone is using the workstation",
};

function PauseLine({ agent }: { agent: AgentView }) {
  if (!agent.paused) return <span class="muted">not paused</span>;
  const p = agent.pause;
  return (
    <span class="pause" data-testid="pause">
      <StateBadge state="PAUSED" /> {p ? PAUSE_SOURCES[p.source] ?? p.source : "paused"}
      {(p?.reason ?? agent.pause_reason) && <>: “{p?.reason ?? agent.pause_reason}”</>}
      {p?.until && <> until <time title={p.until}>{p.until}</time></>}
      {p && <span class="muted"> (source <code>{p.source}</code>)</span>}
    </span>
  );
}

function otherProcesses(o: AgentGpu["other_processes"]): string {
  if (!o) return "—";
  if (o.count === 0) return "none";
  const mem = o.memory_mb === null ? "" : ` · ${(o.memory_mb / 1024).toFixed(1)} GB`;
  return `${o.count} other${mem}`;
}

function Gpu({ gpu }: { gpu: AgentGpu }) {
  const mem = gpu.memory_used_mb !== null && gpu.memory_mb ? gpu.memory_used_mb / gpu.memory_mb : null;
  const util = gpu.utilization_percent === null ? null : gpu.utilization_percent / 100;
  return (
    <tr class="gpu">
      <td>{gpu.index}</td>
      <td>{gpu.name}</td>
      <td><Meter fraction={mem} label={memory(gpu.memory_used_mb, gpu.memory_mb)} /></td>
      <td><Meter fraction={util} label={gpu.utilization_percent === null ? "—" : `${gpu.utilization_percent}%`} /></td>
      <td>{gpu.temperature_c === null ? "—" : `${gpu.temperature_c} °C`}</td>
      <td>{otherProcesses(gpu.other_processes)}</td>
    </tr>
  );
}

// A pause lets running jobs go on unless asked (DESIGN.md "Pause/resume").
function pauseBody(reason: string, stopRunning: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (reason.trim()) body.reason = reason.trim();
  if (stopRunning) body.stop_running = true;
  return body;
}

function AgentCard({ agent, canAdmin, onChanged }: { agent: AgentView; canAdmin: boolean; onChanged: () => void }) {
  const [reason, setReason] = useState("");
  const [stopRunning, setStopRunning] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (what: "pause" | "resume") => {
    setBusy(true);
    try {
      await api("POST", `/v1/agents/${encodeURIComponent(agent.id)}/${what}`, what === "pause" ? pauseBody(reason, stopRunning) : undefined);
      setError(null);
      setReason("");
      setStopRunning(false);
      onChanged();
    } catch (err) {
      setError(asFailure(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <article class="agent" data-agent-id={agent.id}>
      <h2>
        {agent.name} <StateBadge state={agent.status} /> <code class="muted">{agent.id}</code>
      </h2>
      <dl class="facts">
        <dt>Pause</dt><dd><PauseLine agent={agent} /></dd>
        <dt>OS</dt><dd>{agent.os ?? "—"}{agent.slots !== undefined && <> · {agent.slots} slot{agent.slots === 1 ? "" : "s"}</>}</dd>
        <dt>Labels</dt><dd>{Object.keys(agent.labels).length ? Object.entries(agent.labels).map(([k, v]) => <code key={k} class="label">{k}={v}</code>) : <span class="muted">none</span>}</dd>
        <dt>Running</dt><dd>{agent.running.length ? agent.running.map((a) => <code key={a} class="attempt">{a}</code>) : <span class="muted">nothing</span>}</dd>
        <dt>Last seen</dt><dd><TimeAgo at={agent.last_seen_at} />{agent.connected_since && <> · connected <TimeAgo at={agent.connected_since} /></>}</dd>
        {agent.cpu_percent != null && <><dt>Host</dt><dd>CPU {agent.cpu_percent}% · memory {memory(agent.memory_used_mb ?? null, agent.memory_mb ?? null)}</dd></>}
      </dl>
      {agent.gpus.length > 0 ? (
        <table class="list gpus">
          <thead><tr><th>GPU</th><th>Name</th><th>Memory</th><th>Utilization</th><th>Temp</th><th>Other processes</th></tr></thead>
          <tbody>{agent.gpus.map((g) => <Gpu key={g.index} gpu={g} />)}</tbody>
        </table>
      ) : <p class="muted">No GPUs reported.</p>}
      {canAdmin && (
        <div class="actions">
          {agent.paused ? (
            <button type="button" onClick={() => act("resume")} disabled={busy}>Resume</button>
          ) : (
            <>
              <input name="reason" placeholder="reason (optional)" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
              <label class="check"><input type="checkbox" name="stop_running" checked={stopRunning} onChange={(e) => setStopRunning(e.currentTarget.checked)} /> also stop its running jobs</label>
              <button type="button" onClick={() => act("pause")} disabled={busy}>Pause</button>
            </>
          )}
        </div>
      )}
      <ErrorBox error={error} />
    </article>
  );
}

/** The agents page. */
export function AgentsPage({ me }: { me: Me | null }) {
  const { data, error, reload } = usePoll(() => api<Page<AgentView>>("GET", "/v1/agents?limit=500"), POLL_MS, []);
  return (
    <section>
      <h1>Agents</h1>
      <ErrorBox error={error} />
      {!data && !error && <p class="muted">Loading…</p>}
      {data?.items.length === 0 && <p class="muted">No agents enrolled yet.</p>}
      {data?.items.map((a) => <AgentCard key={a.id} agent={a} canAdmin={me?.role !== "user"} onChanged={reload} />)}
    </section>
  );
}

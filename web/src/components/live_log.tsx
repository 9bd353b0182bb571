// Live output of a job: `log` events (stdout and stderr lines) and `progress` lines, as
// they arrive on the job's event stream, newest at the bottom.

/** One line shown in the live log. */
export interface LogLine {
  kind: "stdout" | "stderr" | "progress";
  text: string;
  at: string | null;
}

/** Most lines a page keeps: a chatty job must not make the tab sluggish. */
export const MAX_LOG_LINES = 2000;

/** The live log panel. */
export function LiveLog({ lines, following }: { lines: LogLine[]; following: boolean }) {
  return (
    <div class="log-panel">
      <div class="log-head">
        <span>Live output</span>
        <span class={following ? "live" : "muted"}>{following ? "● following" : "not following"}</span>
      </div>
      <pre class="log" data-testid="live-log">
        {lines.length === 0 && <span class="muted">No output yet.</span>}
        {lines.map((l, i) => (
          <div key={i} class={`log-line log-${l.kind}`} data-kind={l.kind}>
            <span class="log-kind">{l.kind}</span>{l.text}
          </div>
        ))}
      </pre>
    </div>
  );
}

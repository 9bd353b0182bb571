// An agent's pause, as the API shows it (API.md "Agents": `pause`) and as the agent reports
// the part it owns. Who may set which source: the API sets `api`; the agent's owner sets
// `local` (agent pause); the agent itself sets `gpu_busy` and `user_active` when it yields
// to the workstation's user (docs/decisions/0033-pause-sources-and-snooze.md).

/** Every source of a pause, in the order the API shows them when several hold at once. */
export const PAUSE_SOURCES = ["api", "local", "user_active", "gpu_busy"] as const;
/** Who paused the agent. */
export type PauseSource = (typeof PAUSE_SOURCES)[number];
/** The sources the agent owns and reports (the API owns `api`). */
export const AGENT_PAUSE_SOURCES = ["local", "user_active", "gpu_busy"] as const;
/** A source the agent owns. */
export type AgentPauseSource = (typeof AGENT_PAUSE_SOURCES)[number];

/** One pause: its source, why (for a person), and when it ends by itself (RFC 3339, or null: until resumed). */
export interface AgentPause {
  source: PauseSource;
  reason: string | null;
  until: string | null;
}

/** The longest pause reason either side accepts. */
export const MAX_PAUSE_REASON = 500;

/** True when `v` names a pause source. */
export function isPauseSource(v: unknown): v is PauseSource {
  return typeof v === "string" && (PAUSE_SOURCES as readonly string[]).includes(v);
}

/** True when `v` names a source the agent owns. */
export function isAgentPauseSource(v: unknown): v is AgentPauseSource {
  return typeof v === "string" && (AGENT_PAUSE_SOURCES as readonly string[]).includes(v);
}

/** True for an RFC 3339 UTC time such as 2026-12-01T18:00:00.000Z (what both sides send). */
export function isRfc3339(v: unknown): v is string {
  return typeof v === "string" && v.length <= 40 && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v));
}

/** True when `v` is a well-formed pause of a source the agent owns (what `agent.pause_state` carries). */
export function isAgentOwnedPause(v: unknown): v is AgentPause & { source: AgentPauseSource } {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const p = v as Record<string, unknown>;
  return isAgentPauseSource(p.source) &&
    (p.reason === null || (typeof p.reason === "string" && p.reason.length <= MAX_PAUSE_REASON)) &&
    (p.until === null || isRfc3339(p.until));
}

/** Whether a pause still holds at `nowMs` (one whose `until` has passed has ended). */
export function pauseHolds(p: Pick<AgentPause, "until">, nowMs: number): boolean {
  return p.until === null || Date.parse(p.until) > nowMs;
}

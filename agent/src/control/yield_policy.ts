// How the agent yields to the workstation's user, per agent: agent.json's `yield` object,
// overridden per run by flags (cli_args.ts). Defaults follow the issue: on activity take
// no new work (running jobs go on), resume after 10 idle minutes.

/** What to do when someone uses the workstation. */
export type OnActivity = "stop_taking" | "stop_running";

export interface YieldPolicy {
  /** Yield automatically at all (false: only the API's and the owner's pauses). */
  enabled: boolean;
  /** stop_taking: no new jobs; stop_running: also stop the running ones (reported yielded_to_owner). */
  onActivity: OnActivity;
  /** Resume once the workstation was idle this long (no user input, no foreign GPU use). */
  resumeAfterIdleMs: number;
  /** Another program's VRAM on one GPU at or above this counts as GPU contention. */
  gpuThresholdMb: number;
  /** User input this recent counts as someone at the console. */
  userActiveWithinMs: number;
}

export const DEFAULT_YIELD_POLICY: YieldPolicy = {
  enabled: true,
  onActivity: "stop_taking",
  resumeAfterIdleMs: 10 * 60_000,
  gpuThresholdMb: 256,
  userActiveWithinMs: 60_000,
};

/** agent.json's `yield` object as stored (snake_case, minutes and seconds). */
export interface StoredYieldPolicy {
  enabled?: boolean;
  on_activity?: OnActivity;
  resume_after_idle_minutes?: number;
  gpu_threshold_mb?: number;
  user_active_within_seconds?: number;
}

/** Why a stored `yield` object is unusable, or null. */
export function storedYieldProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "yield must be an object";
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["enabled", "on_activity", "resume_after_idle_minutes", "gpu_threshold_mb", "user_active_within_seconds"].includes(k)) return `yield has an unknown field "${k}"`;
  }
  if (o.enabled !== undefined && typeof o.enabled !== "boolean") return "yield.enabled must be true or false";
  if (o.on_activity !== undefined && o.on_activity !== "stop_taking" && o.on_activity !== "stop_running") return `yield.on_activity "${String(o.on_activity)}" must be stop_taking or stop_running`;
  const num = (k: string, max: number) => o[k] === undefined || (typeof o[k] === "number" && Number.isFinite(o[k]) && (o[k] as number) >= 0 && (o[k] as number) <= max);
  if (!num("resume_after_idle_minutes", 24 * 60)) return "yield.resume_after_idle_minutes must be 0 to 1440";
  if (!num("gpu_threshold_mb", 1 << 24)) return "yield.gpu_threshold_mb must be a number of MB";
  if (!num("user_active_within_seconds", 3600)) return "yield.user_active_within_seconds must be 0 to 3600";
  return null;
}

/** The policy from agent.json's object (already checked) and this run's flags, over the defaults. */
export function yieldPolicyOf(stored: StoredYieldPolicy | undefined, flags: Partial<YieldPolicy> = {}): YieldPolicy {
  const s = stored ?? {};
  const p: YieldPolicy = { ...DEFAULT_YIELD_POLICY };
  if (s.enabled !== undefined) p.enabled = s.enabled;
  if (s.on_activity !== undefined) p.onActivity = s.on_activity;
  if (s.resume_after_idle_minutes !== undefined) p.resumeAfterIdleMs = s.resume_after_idle_minutes * 60_000;
  if (s.gpu_threshold_mb !== undefined) p.gpuThresholdMb = s.gpu_threshold_mb;
  if (s.user_active_within_seconds !== undefined) p.userActiveWithinMs = s.user_active_within_seconds * 1000;
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  return p;
}

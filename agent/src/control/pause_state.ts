// The agent's pause: which sources hold it (api, local, user_active, gpu_busy), each with
// its reason and end, and the owner's snooze. The agent takes no new work while any source
// holds; each source is set and lifted on its own (an API resume lifts only the API's
// pause). Kept in <state>/pause.json so a restart keeps the owner's pause and snooze
// (docs/decisions/0033-pause-sources-and-snooze.md). Time comes from an injected clock.
import { join } from "node:path";
import {
  AGENT_PAUSE_SOURCES, type AgentPause, type AgentPauseSource, isAgentPauseSource, MAX_PAUSE_REASON, PAUSE_SOURCES, type PauseSource,
} from "../../../packages/protocol/src/index.ts";
import { readJsonFile } from "../runtime/json_file.ts";

/** One source's hold: why, since when and until when (epoch ms; null: until lifted). */
export interface Hold {
  source: PauseSource;
  reason: string | null;
  sinceMs: number;
  untilMs: number | null;
}

/** A change of the pause, for the log, the gateway and the CLI. */
export interface PauseChange {
  kind: "paused" | "resumed";
  source: PauseSource;
  reason: string | null;
  /** Why a hold ended: lifted by its source, its `until` passed, or the owner's snooze. */
  cause?: "lifted" | "expired" | "snoozed";
}

export const PAUSE_FILE = "pause.json";

/** <state>/pause.json: the agent-owned holds and the snooze (the API's hold is the server's to resend at hello). */
interface PauseFile {
  holds: { source: AgentPauseSource; reason: string | null; since: string; until: string | null }[];
  snooze_until: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class PauseState {
  private readonly holds = new Map<PauseSource, Hold>();
  private snoozeUntilMs: number | null = null;
  private readonly listeners: ((c: PauseChange) => void)[] = [];
  private writing: Promise<void> = Promise.resolve();

  /** `file`: where to persist (null: memory only, for tests that do not care). */
  constructor(private readonly clock: () => number, private readonly file: string | null = null) {}

  /** The state kept in `stateDir`, or a fresh one; a damaged file counts as none (the agent must start). */
  static async load(stateDir: string, clock: () => number): Promise<{ state: PauseState; problem: string | null }> {
    const path = join(stateDir, PAUSE_FILE);
    const state = new PauseState(clock, path);
    const read = await readJsonFile(path, (e) => ({ notJson: e.message }));
    if (read === null) return { state, problem: null };
    if ("notJson" in read) return { state, problem: `${path} is not valid: ${read.notJson}` };
    try {
      const f = read.value as PauseFile;
      for (const h of f.holds ?? []) {
        if (!isAgentPauseSource(h.source)) continue;
        state.holds.set(h.source, {
          source: h.source, reason: typeof h.reason === "string" ? h.reason.slice(0, MAX_PAUSE_REASON) : null,
          sinceMs: Date.parse(h.since) || clock(), untilMs: h.until === null ? null : Date.parse(h.until),
        });
      }
      state.snoozeUntilMs = f.snooze_until ? Date.parse(f.snooze_until) || null : null;
      return { state, problem: null };
    } catch (e) {
      return { state, problem: `${path} is not valid: ${(e as Error).message}` };
    }
  }

  /** Calls `fn` on every change (after it is applied). */
  onChange(fn: (c: PauseChange) => void): void {
    this.listeners.push(fn);
  }

  /** Sets (or replaces) one source's hold. `untilMs` null: until lifted. */
  hold(source: PauseSource, reason: string | null, untilMs: number | null = null): void {
    this.expire();
    const had = this.holds.get(source);
    const r = reason === null ? null : reason.slice(0, MAX_PAUSE_REASON);
    if (had && had.reason === r && had.untilMs === untilMs) return;
    this.holds.set(source, { source, reason: r, sinceMs: had?.sinceMs ?? this.clock(), untilMs });
    this.changed({ kind: "paused", source, reason: r });
  }

  /** Lifts one source's hold; false when it held none. */
  release(source: PauseSource, cause: PauseChange["cause"] = "lifted"): boolean {
    this.expire();
    const had = this.holds.get(source);
    if (!had) return false;
    this.holds.delete(source);
    this.changed({ kind: "resumed", source, reason: had.reason, cause });
    return true;
  }

  /**
   * The owner's snooze: until `untilMs` the agent does not yield to the workstation's user
   * (no user_active or gpu_busy pause), and any such pause now is lifted. Owner and API
   * pauses are untouched. `null` ends a snooze early.
   */
  snooze(untilMs: number | null): void {
    this.expire();
    this.snoozeUntilMs = untilMs !== null && untilMs > this.clock() ? untilMs : null;
    for (const s of ["user_active", "gpu_busy"] as const) if (this.snoozeUntilMs !== null) this.release(s, "snoozed");
    this.persist();
  }

  /** Whether automatic yielding is allowed now (no snooze running). */
  autoYieldAllowed(): boolean {
    this.expire();
    return this.snoozeUntilMs === null;
  }

  /** When the snooze ends (epoch ms), or null. */
  snoozeUntil(): number | null {
    this.expire();
    return this.snoozeUntilMs;
  }

  /** True while any source holds. */
  paused(): boolean {
    this.expire();
    return this.holds.size > 0;
  }

  /** Whether `source` holds now. */
  isHeldBy(source: PauseSource): boolean {
    this.expire();
    return this.holds.has(source);
  }

  /** Every hold, in the order the API shows them. */
  list(): Hold[] {
    this.expire();
    return PAUSE_SOURCES.flatMap((s) => (this.holds.has(s) ? [this.holds.get(s)!] : []));
  }

  /** The pause a person sees: the first hold in PAUSE_SOURCES order, or null. */
  view(): AgentPause | null {
    const h = this.list()[0];
    return h ? toPause(h) : null;
  }

  /** The first agent-owned hold (what `agent.pause_state` reports), or null. */
  agentOwned(): (AgentPause & { source: AgentPauseSource }) | null {
    this.expire();
    for (const s of AGENT_PAUSE_SOURCES) {
      const h = this.holds.get(s);
      if (h) return toPause(h) as AgentPause & { source: AgentPauseSource };
    }
    return null;
  }

  /** Ends holds and the snooze whose time has come; call periodically (reads call it too). */
  expire(): void {
    const now = this.clock();
    if (this.snoozeUntilMs !== null && this.snoozeUntilMs <= now) {
      this.snoozeUntilMs = null;
      this.persist();
    }
    for (const h of [...this.holds.values()]) {
      if (h.untilMs !== null && h.untilMs <= now) {
        this.holds.delete(h.source);
        this.changed({ kind: "resumed", source: h.source, reason: h.reason, cause: "expired" });
      }
    }
  }

  /** Resolves once every write so far reached the disk. */
  flushed(): Promise<void> {
    return this.writing;
  }

  private changed(c: PauseChange): void {
    if (c.source !== "api") this.persist();
    for (const fn of this.listeners) fn(c);
  }

  private persist(): void {
    if (!this.file) return;
    const file = this.file;
    const body: PauseFile = {
      holds: AGENT_PAUSE_SOURCES.flatMap((s) => {
        const h = this.holds.get(s);
        return h ? [{ source: s, reason: h.reason, since: iso(h.sinceMs)!, until: iso(h.untilMs) }] : [];
      }),
      snooze_until: iso(this.snoozeUntilMs),
    };
    // Writes go one after another, each whole (temp file, rename), so the last state wins on disk.
    this.writing = this.writing.then(() => writeAtomically(file, JSON.stringify(body, null, 2) + "\n")).catch(() => {});
  }
}

function toPause(h: Hold): AgentPause {
  return { source: h.source, reason: h.reason, until: iso(h.untilMs) };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(temp, text, { mode: 0o600 });
  try {
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

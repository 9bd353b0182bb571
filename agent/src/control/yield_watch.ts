// Yielding to the workstation's user: GPU use by programs that are not the agent's jobs
// (from each telemetry reading) and user input at the console (idle reports from the
// per-session reporter, docs/decisions/0034-console-activity.md) set the gpu_busy and
// user_active pauses; each is lifted once its condition was absent for the policy's idle
// time (hysteresis: a flicker does not resume and re-pause). The owner's snooze wins.
import type { Gpu } from "../../../packages/protocol/src/index.ts";
import type { PauseState } from "./pause_state.ts";
import type { YieldPolicy } from "./yield_policy.ts";

/** Why these GPUs count as used by someone else under `thresholdMb`, or null when they do not. */
export function gpuContention(gpus: Gpu[], thresholdMb: number): string | null {
  const busy: string[] = [];
  for (const g of gpus) {
    const o = g.other_processes;
    if (!o || o.count === 0) continue;
    // Windows (WDDM) does not say how much each process holds: a compute process of
    // someone else's is contention by itself (desktop graphics do not show up in this list).
    if (o.memory_mb === null) busy.push(`GPU ${g.index ?? "?"}: ${o.count} other compute process${o.count === 1 ? "" : "es"}`);
    else if (o.memory_mb >= thresholdMb) busy.push(`GPU ${g.index ?? "?"}: ${o.count} other process${o.count === 1 ? "" : "es"} use ${o.memory_mb} MB`);
  }
  return busy.length ? busy.join("; ") : null;
}

export class YieldWatch {
  private gpuBusySinceMs: number | null = null;
  private lastGpuBusyMs: number | null = null;
  private gpuReason: string | null = null;
  /** The latest user input any session reported (epoch ms). */
  private lastInputMs: number | null = null;
  private userReason: string | null = null;

  constructor(private readonly state: PauseState, private readonly policy: YieldPolicy, private readonly clock: () => number) {
    // Automatic pauses kept across a restart end like fresh ones: after an idle time from now.
    if (state.isHeldBy("gpu_busy")) this.lastGpuBusyMs = clock();
    if (state.isHeldBy("user_active")) this.lastInputMs = clock();
  }

  /** A fresh GPU reading (the agent's own jobs already left out of other_processes). */
  observeGpus(gpus: Gpu[]): void {
    const now = this.clock();
    const why = gpuContention(gpus, this.policy.gpuThresholdMb);
    if (why) {
      this.lastGpuBusyMs = now;
      this.gpuBusySinceMs ??= now;
      this.gpuReason = why;
    } else {
      this.gpuBusySinceMs = null;
    }
    this.evaluate();
  }

  /** An idle report: `idleMs` since the last input in one interactive session, as of now. */
  observeUserIdle(idleMs: number, session: string | null = null): void {
    const input = this.clock() - Math.max(0, idleMs);
    if (this.lastInputMs === null || input > this.lastInputMs) {
      this.lastInputMs = input;
      this.userReason = session ? `someone is using the workstation (session ${session})` : "someone is using the workstation";
    }
    this.evaluate();
  }

  /** The last input seen, for status (epoch ms), or null. */
  lastInput(): number | null {
    return this.lastInputMs;
  }

  /** Sets or lifts the automatic pauses from what was seen; call on every reading and periodically. */
  evaluate(): void {
    const { state, policy } = this;
    const now = this.clock();
    if (!policy.enabled || !state.autoYieldAllowed()) {
      // The snooze lifted these already; a policy switched off lifts them too.
      state.release("gpu_busy");
      state.release("user_active");
      return;
    }
    // Held once per episode: a reading that only moves the numbers is not a new pause.
    if (this.gpuBusySinceMs !== null) {
      if (!state.isHeldBy("gpu_busy")) state.hold("gpu_busy", this.gpuReason);
    }
    else if (this.lastGpuBusyMs !== null && now - this.lastGpuBusyMs >= policy.resumeAfterIdleMs) state.release("gpu_busy");

    if (this.lastInputMs !== null) {
      const idle = now - this.lastInputMs;
      if (idle < policy.userActiveWithinMs) {
        if (!state.isHeldBy("user_active")) state.hold("user_active", this.userReason);
      }
      else if (idle >= policy.resumeAfterIdleMs) state.release("user_active");
    }
  }
}

// Admission control on agent upgrades, so a gateway sheds load instead of falling over.
// During a reconnect storm every agent of a fleet knocks within a second; each admitted
// one costs a MySQL lookup (its credential) and a few Redis round trips (its hello). The
// gateway lets in at most `maxInFlight` agents whose upgrade or hello is still being
// handled: the rate it admits at is then the rate Redis and MySQL absorb, whatever that is.
// The rest are upgraded and closed at once with 1013 and a retry hint (retry_hint.ts) that
// spreads them over the time the ones waiting ahead need. A hard cap on connections
// (`maxAgents`) refuses every newcomer while the gateway is full, with one log line when
// it fills up and one when it has room again.
import type { Logger } from "@labbridge/logging";

/** Sizes of one gateway's admission control. */
export interface AdmissionLimits {
  /** Agents at most whose upgrade or hello is being handled at once. */
  maxInFlight: number;
  /** Agent connections at most, hello done or not (a hard cap: memory, open files). */
  maxAgents: number;
}

/** An admitted upgrade: `settle` once its hello is done or it went away (again is harmless). */
export interface Ticket {
  settle: () => void;
  /** Called when its socket opened: from then on it counts as an open connection. */
  opened: () => void;
}

/** Why an upgrade was refused, and how long the agent should wait. */
export type Refusal = { reason: "busy" | "full"; retryAfterMs: number };

/** Shortest hint: enough for the in-flight hellos to finish. */
const MIN_RETRY_MS = 250;
/** A full gateway sends agents away for 5–30 s: most of them find room at the next gateway in their list first. */
const FULL_RETRY_MS = { min: 5_000, spread: 25_000 };
/** Summary log of refusals while busy, at most this often. */
const LOG_EVERY_MS = 5_000;

/** One gateway's admission state. */
export class Admission {
  private inFlight = 0;
  private open = 0;
  /** Admitted upgrades whose socket is not open yet (counted against the cap with the open ones). */
  private upgrading = 0;
  /** Hellos finished in the current and the previous second, to estimate the rate they finish at. */
  private settledNow = 0;
  private settledBefore = 0;
  private second = 0;
  /** Refusals in the current and the previous second: the agents about to come back. */
  private refusedNow = 0;
  private refusedBefore = 0;
  /** Refusals since the last summary line. */
  private refusedSinceLog = 0;
  private lastLogAt = -Infinity;
  /** How long an admitted upgrade takes to its hello's end, smoothed (ms); a guess of 1 s until measured. */
  private helloMs = 1000;
  private full = false;

  constructor(
    readonly limits: AdmissionLimits,
    private readonly log: Logger,
    private readonly clock: () => number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Counts an agent upgrade: a ticket when admitted, else why not and the retry hint. */
  admit(): Ticket | Refusal {
    const now = this.clock();
    this.tick(now);
    if (this.open + this.upgrading >= this.limits.maxAgents) {
      if (!this.full) {
        this.full = true;
        this.log.warn({ connections: this.open, in_flight: this.inFlight, max_agents: this.limits.maxAgents },
          "connection cap reached: refusing new agents with 1013 until some leave");
      }
      return { reason: "full", retryAfterMs: Math.round(FULL_RETRY_MS.min + this.random() * FULL_RETRY_MS.spread) };
    }
    if (this.full) {
      this.full = false;
      this.log.info({ connections: this.open, max_agents: this.limits.maxAgents }, "below the connection cap again: admitting agents");
    }
    if (this.inFlight >= this.limits.maxInFlight) {
      this.refusedSinceLog++;
      this.refusedNow++;
      if (now - this.lastLogAt >= LOG_EVERY_MS) {
        this.log.warn({ refused: this.refusedSinceLog, in_flight: this.inFlight, admitted_per_s: this.ratePerSecond() },
          "admission control: gateway busy, refusing upgrades with a retry hint");
        this.lastLogAt = now;
        this.refusedSinceLog = 0;
      }
      return { reason: "busy", retryAfterMs: this.busyHint() };
    }
    this.inFlight++;
    this.upgrading++;
    const admittedAt = now;
    let settled = false;
    let opened = false;
    return {
      opened: () => {
        if (opened || settled) return;
        opened = true;
        this.upgrading--;
        this.open++;
      },
      settle: () => {
        if (settled) return;
        settled = true;
        if (!opened) this.upgrading--;
        this.inFlight--;
        const at = this.clock();
        this.tick(at);
        this.settledNow++;
        this.helloMs += (Math.max(1, at - admittedAt) - this.helloMs) / 16;
      },
    };
  }

  /** Counts an agent socket that closed (one whose ticket was opened). */
  closed(): void {
    this.open = Math.max(0, this.open - 1);
  }

  /** Open agent connections and upgrades in flight (for metrics and tests). */
  get counts(): { open: number; inFlight: number } {
    return { open: this.open, inFlight: this.inFlight };
  }

  private tick(now: number): void {
    const second = Math.floor(now / 1000);
    if (second === this.second) return;
    const next = second === this.second + 1;
    this.settledBefore = next ? this.settledNow : 0;
    this.refusedBefore = next ? this.refusedNow : 0;
    this.settledNow = 0;
    this.refusedNow = 0;
    this.second = second;
  }

  /**
   * Hellos the gateway finishes per second: the in-flight limit over how long one takes, or
   * what the last second saw if more. (The last second alone says nothing at the start of a
   * storm, when no hello has finished yet, and told the first ones refused to wait 30 s.)
   */
  private ratePerSecond(): number {
    return Math.max(1, (1000 * this.limits.maxInFlight) / this.helloMs, this.settledBefore, this.settledNow);
  }

  /**
   * Uniform over the time the agents refused so far need to get in at the current rate, so
   * they come back spread out instead of in step: a storm drains at the rate the stores take.
   */
  private busyHint(): number {
    const queue = this.refusedBefore + this.refusedNow + this.inFlight;
    const windowMs = Math.min(30_000, (1000 * queue) / this.ratePerSecond());
    return Math.round(MIN_RETRY_MS + this.random() * Math.max(MIN_RETRY_MS, windowMs));
  }
}

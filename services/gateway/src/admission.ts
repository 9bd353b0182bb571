// Admission control on agent upgrades, so a gateway sheds load instead of falling over.
// During a reconnect storm every agent of a fleet knocks within a second. An admitted
// upgrade costs a credential lookup (MySQL, in batches: credential_lookups.ts); the
// gateway lets at most `maxInFlight` lookups be unanswered at once, so the rate it admits
// at is the rate MySQL answers at, whatever that is, and a slow client (one that takes its
// time to send hello) holds no place. The hellos of open sockets wait behind a limit of
// their own (hello_queue.ts), in order, never refused. The upgrades over the limit are
// upgraded and closed at once with 1013 and a retry hint (retry_hint.ts) that spreads them
// over the time the lookups waiting ahead need. A hard cap on connections (`maxAgents`)
// refuses every newcomer while the gateway is full, with one log line when it fills up and
// one when it has room again.
import type { Logger } from "@labbridge/logging";

/** Sizes of one gateway's admission control. */
export interface AdmissionLimits {
  /** Agent upgrades at most whose credential lookup is unanswered at once. */
  maxInFlight: number;
  /** Agent connections at most, hello done or not (a hard cap: memory, open files). */
  maxAgents: number;
}

/**
 * An admitted upgrade. `answered` once its lookup is answered (its in-flight place goes
 * to the next upgrade); `done` once its socket is open or it went without one (aborted,
 * refused credential): from then on an open agent socket is counted by opened()/closed().
 * Each is harmless twice.
 */
export interface Ticket {
  answered: () => void;
  done: () => void;
}

/** Why an upgrade was refused, and how long the agent should wait. */
export type Refusal = { reason: "busy" | "full"; retryAfterMs: number };

/** Shortest hint: enough for the lookups in flight to be answered. */
const MIN_RETRY_MS = 250;
/** A full gateway sends agents away for 5–30 s: most of them find room at the next gateway in their list first. */
const FULL_RETRY_MS = { min: 5_000, spread: 25_000 };
/** Summary log of refusals while busy, at most this often. */
const LOG_EVERY_MS = 5_000;

/** One gateway's admission state. */
export class Admission {
  private inFlight = 0;
  /** The most lookups ever in flight at once (metrics and tests: never over the limit). */
  private peakInFlight = 0;
  private open = 0;
  /** Admitted upgrades whose socket is not open yet (counted against the cap with the open ones). */
  private upgrading = 0;
  /** Lookups answered in the current and the previous second, to estimate the rate they are answered at. */
  private answeredNow = 0;
  private answeredBefore = 0;
  private second = 0;
  /** Refusals in the current and the previous second: the agents about to come back. */
  private refusedNow = 0;
  private refusedBefore = 0;
  /** Refusals since the last summary line. */
  private refusedSinceLog = 0;
  private lastLogAt = -Infinity;
  /**
   * How long a lookup takes from admission to its answer, smoothed (ms). Until the first is
   * answered, a guess of 100 ms: a batched lookup takes a few ms, tens under load; the first
   * refusals of a storm come before any answer, and a guess of a second told them to wait 30 s.
   */
  private lookupMs = 100;
  private measured = false;
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
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    this.upgrading++;
    const admittedAt = now;
    let answered = false;
    let done = false;
    return {
      answered: () => {
        if (answered) return;
        answered = true;
        this.inFlight--;
        const at = this.clock();
        this.tick(at);
        this.answeredNow++;
        const ms = Math.max(1, at - admittedAt);
        this.lookupMs = this.measured ? this.lookupMs + (ms - this.lookupMs) / 16 : ms;
        this.measured = true;
      },
      done: () => {
        if (done) return;
        done = true;
        this.upgrading--;
      },
    };
  }

  /** Counts an agent socket that opened (uWS opens it within the upgrade, before its ticket is done). */
  opened(): void {
    this.open++;
  }

  /** Counts an agent socket that closed (one counted by opened()). */
  closed(): void {
    this.open = Math.max(0, this.open - 1);
  }

  /** Open agent connections, lookups in flight and the most there ever were (for metrics and tests). */
  get counts(): { open: number; inFlight: number; peakInFlight: number } {
    return { open: this.open, inFlight: this.inFlight, peakInFlight: this.peakInFlight };
  }

  private tick(now: number): void {
    const second = Math.floor(now / 1000);
    if (second === this.second) return;
    const next = second === this.second + 1;
    this.answeredBefore = next ? this.answeredNow : 0;
    this.refusedBefore = next ? this.refusedNow : 0;
    this.answeredNow = 0;
    this.refusedNow = 0;
    this.second = second;
  }

  /**
   * Lookups the gateway gets answered per second: the in-flight limit over how long one
   * takes, or what the last second saw if more. (The last second alone says nothing at the
   * start of a storm, when no lookup is answered yet, and told the first ones refused to wait 30 s.)
   */
  private ratePerSecond(): number {
    return Math.max(1, (1000 * this.limits.maxInFlight) / this.lookupMs, this.answeredBefore, this.answeredNow);
  }

  /**
   * Uniform over the time the agents refused so far need to get in at the current rate, so
   * they come back spread out instead of in step: a storm drains at the rate MySQL answers.
   */
  private busyHint(): number {
    const queue = this.refusedBefore + this.refusedNow + this.inFlight;
    const windowMs = Math.min(30_000, (1000 * queue) / this.ratePerSecond());
    return Math.round(MIN_RETRY_MS + this.random() * Math.max(MIN_RETRY_MS, windowMs));
  }
}

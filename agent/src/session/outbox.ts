// Reports that must reach the gateway: an attempt's outputs in chunks (attempt.outputs),
// then attempt.finished. Each frame is sent on the live session and re-sent on every new
// session until the gateway acknowledges it: attempt.outputs_ack per chunk, then
// attempt.report_ack, accepted (forwarded) or not (the server had already decided the
// attempt without it). Until then the attempt stays in hello/heartbeat `running`, which
// keeps its lease alive while the report waits. A repeated frame is a no-op on the server
// side (outputs are recorded once per path; the transition is fenced), so a chunk whose ack
// was lost with a connection is simply sent again, to whichever gateway comes next.
import type { OutputsAckMessage, ReportAckMessage } from "../../../packages/protocol/src/index.ts";
import type { Logger } from "../runtime/log.ts";
import type { Report } from "../transfer/output_report.ts";
import type { Session, SessionHub } from "./session_hub.ts";
import { deferred, raceWith } from "../runtime/timers.ts";

/** How a report's delivery ended. */
export type Delivery = "accepted" | "refused" | "aborted";

/** Chunks in flight (sent, not yet acked) at once on one session. */
const CHUNK_WINDOW = 4;

/** Acks of one report's chunks, with a wake-up for whoever waits on the next. */
class ChunkAcks {
  readonly acked = new Set<number>();
  refused = false;
  private changed = deferred<void>();

  record(seq: number, accepted: boolean): void {
    this.acked.add(seq);
    if (!accepted) this.refused = true;
    this.changed.resolve();
    this.changed = deferred<void>();
  }

  next(): Promise<void> {
    return this.changed.promise;
  }
}

export class Outbox {
  private readonly pending = new Map<string, Report>();
  private readonly acks = new Map<string, (accepted: boolean) => void>();
  private readonly chunkAcks = new Map<string, ChunkAcks>();

  /**
   * `chunkAckTimeoutMs`: a session that acks no chunk for this long gets the unacked ones
   * again. A gateway whose handler failed (MySQL refused the write) answers with an error
   * frame, not an ack, and keeps the connection: waiting for the session to end could wait forever.
   */
  constructor(private readonly hub: SessionHub, private readonly log: Logger, private readonly chunkAckTimeoutMs: number) {}

  /** Attempt ids whose report is still waiting. */
  ids(): string[] {
    return [...this.pending.keys()];
  }

  /** Called for every attempt.report_ack from the gateway. */
  ack(msg: ReportAckMessage): void {
    const resolve = this.acks.get(msg.attempt_id);
    if (resolve) resolve(msg.accepted);
    else this.log.info("report ack for no waiting report, ignored", { attempt_id: msg.attempt_id });
  }

  /** Called for every attempt.outputs_ack from the gateway. */
  ackOutputs(msg: OutputsAckMessage): void {
    const acks = this.chunkAcks.get(msg.attempt_id);
    if (acks) acks.record(msg.seq, msg.accepted);
    else this.log.info("outputs ack for no waiting report, ignored", { attempt_id: msg.attempt_id, seq: msg.seq });
  }

  /** Sends the report's chunks, then its final frame, until the gateway acknowledges it, or `signal` aborts. */
  async deliver(report: Report, signal: AbortSignal): Promise<Delivery> {
    const msg = report.finished;
    this.pending.set(msg.attempt_id, report);
    const chunks = new ChunkAcks();
    this.chunkAcks.set(msg.attempt_id, chunks);
    const acked = new Promise<Delivery>((resolve) => this.acks.set(msg.attempt_id, (accepted) => resolve(accepted ? "accepted" : "refused")));
    try {
      let sends = 0;
      while (!signal.aborted) {
        const session = await this.hub.next(signal);
        if (!session) return "aborted";
        const sent = await this.sendChunks(report, chunks, session, signal);
        if (sent === "aborted") return "aborted";
        if (sent === "ended") continue;
        if (sent === "stalled") {
          this.log.warn("no ack for outputs in time; sending the unacknowledged chunks again", { attempt_id: msg.attempt_id });
          continue;
        }
        if (!session.send(msg)) {
          // The socket closed between next() and send(): wait for it to be noticed.
          await raceWith([session.ended], signal, 1_000);
          continue;
        }
        sends++;
        if (sends > 1) this.log.info("report sent again after reconnect", { attempt_id: msg.attempt_id, sends });
        const r = await raceWith<Delivery | "ended">([acked, session.ended.then(() => "ended" as const)], signal);
        if (r === "accepted" || r === "refused") return r;
        if (r === "aborted") return "aborted";
        // The session ended before the ack: send again on the next one.
      }
      return "aborted";
    } finally {
      this.pending.delete(msg.attempt_id);
      this.acks.delete(msg.attempt_id);
      this.chunkAcks.delete(msg.attempt_id);
    }
  }

  /**
   * Sends every chunk not yet acked on `session`, a few in flight at a time, until all are
   * acked ("done"), the session ends, or no ack comes for a while ("stalled"). A refused chunk ends the chunks early: the server
   * will not take outputs for this attempt any more, and the final frame learns its fate.
   */
  private async sendChunks(report: Report, acks: ChunkAcks, session: Session, signal: AbortSignal): Promise<"done" | "ended" | "stalled" | "aborted"> {
    const todo = report.chunks.filter((c) => !acks.acked.has(c.seq));
    const ended = session.ended.then(() => "ended" as const);
    let sent = 0;
    for (;;) {
      if (acks.refused) {
        this.log.warn("outputs refused by the gateway; sending the final report", { attempt_id: report.finished.attempt_id });
        return "done";
      }
      const inFlight = todo.slice(0, sent).filter((c) => !acks.acked.has(c.seq)).length;
      if (sent === todo.length && inFlight === 0) return "done";
      if (sent < todo.length && inFlight < CHUNK_WINDOW) {
        if (!session.send(todo[sent]!)) {
          await raceWith([session.ended], signal, 1_000);
          return "ended";
        }
        sent++;
        continue;
      }
      const r = await raceWith<void | "ended">([acks.next(), ended], signal, this.chunkAckTimeoutMs);
      if (r === "ended") return "ended";
      if (r === "aborted") return "aborted";
      if (r === "timeout") return "stalled";
    }
  }
}

// Reports that must reach the gateway (attempt.finished). A report is sent on the live
// session and re-sent on every new session until the gateway answers attempt.report_ack
// for it: accepted (forwarded) or not (the server had already decided the attempt
// without it). Until then the attempt stays in hello/heartbeat `running`, which keeps its
// lease alive while the report waits. A repeated report is a no-op on the server side.
import type { FinishedMessage, ReportAckMessage } from "../../packages/protocol/src/index.ts";
import type { Logger } from "./log.ts";
import type { SessionHub } from "./session_hub.ts";
import { raceWith } from "./timers.ts";

/** How a report's delivery ended. */
export type Delivery = "accepted" | "refused" | "aborted";

export class Outbox {
  private readonly pending = new Map<string, FinishedMessage>();
  private readonly acks = new Map<string, (accepted: boolean) => void>();

  constructor(private readonly hub: SessionHub, private readonly log: Logger) {}

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

  /** Sends `msg` until the gateway acknowledges it, or `signal` aborts. */
  async deliver(msg: FinishedMessage, signal: AbortSignal): Promise<Delivery> {
    this.pending.set(msg.attempt_id, msg);
    const acked = new Promise<Delivery>((resolve) => this.acks.set(msg.attempt_id, (accepted) => resolve(accepted ? "accepted" : "refused")));
    try {
      let sends = 0;
      while (!signal.aborted) {
        const session = await this.hub.next(signal);
        if (!session) return "aborted";
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
    }
  }
}

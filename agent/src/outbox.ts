// Reports that must reach the gateway (attempt.finished). The protocol has no
// acknowledgement for them, so delivery is at-least-once: a report is sent on the live
// session and counts as delivered only once that session stayed up for a confirmation
// window with nothing left in the socket's send buffer. If the session drops inside the
// window the report is sent again after the next welcome, so the gateway must treat a
// repeated attempt.finished as a no-op. Until then the attempt stays in hello/heartbeat
// `running`, which keeps its lease alive while the report waits.
import type { FinishedMessage } from "../../packages/protocol/src/index.ts";
import type { Logger } from "./log.ts";
import type { Session, SessionHub } from "./session_hub.ts";
import { raceWith } from "./timers.ts";

export class Outbox {
  private readonly pending = new Map<string, FinishedMessage>();

  constructor(
    private readonly hub: SessionHub,
    private readonly log: Logger,
    /** How long a session must stay up after a send for the report to count as delivered. */
    private readonly confirmMs: (s: Session) => number,
  ) {}

  /** Attempt ids whose report is still waiting. */
  ids(): string[] {
    return [...this.pending.keys()];
  }

  /** Sends `msg` until it is delivered (true) or `signal` aborts (false). */
  async deliver(msg: FinishedMessage, signal: AbortSignal): Promise<boolean> {
    this.pending.set(msg.attempt_id, msg);
    try {
      let sends = 0;
      while (!signal.aborted) {
        const session = await this.hub.next(signal);
        if (!session) return false;
        if (!session.send(msg)) {
          // The socket closed between next() and send(): wait for it to be noticed.
          await raceWith([session.ended], signal, 1_000);
          continue;
        }
        sends++;
        if (sends > 1) this.log.info("report sent again after reconnect", { attempt_id: msg.attempt_id, sends });
        while (true) {
          const r = await raceWith([session.ended.then(() => "ended" as const)], signal, this.confirmMs(session));
          if (r === "aborted") return false;
          if (r === "ended") break; // dropped inside the window: send again on the next session
          if (session.isLive() && session.bufferedAmount() === 0) return true;
          if (!session.isLive()) break;
          // Still being written out (slow uplink): wait one more window before deciding.
        }
      }
      return false;
    } finally {
      this.pending.delete(msg.attempt_id);
    }
  }
}

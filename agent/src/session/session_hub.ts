// The current gateway session (a socket that got its `welcome`), shared by everything that
// sends frames. Attempts do not hold sockets: they ask the hub for the live session, and
// wait for the next one after a disconnect. That is how a dropped connection leaves a
// running job alone while its report waits for the reconnect.
import type { AgentMessage } from "../../../packages/protocol/src/index.ts";

export interface Session {
  readonly id: string;
  readonly agentId: string;
  /** Server-owned intervals from `welcome`, in milliseconds: the heartbeat while holding any attempt... */
  readonly heartbeatMs: number;
  /** ...and while holding none (`heartbeatMs` where the gateway announces no idle interval). */
  readonly idleHeartbeatMs: number;
  readonly leaseTtlMs: number;
  /** Sends one frame; false when the session is gone or the frame could not be sent. */
  send(msg: AgentMessage): boolean;
  /** Resolves when this session ends (socket closed). */
  readonly ended: Promise<void>;
  isLive(): boolean;
  /** Bytes not yet written to the network. */
  bufferedAmount(): number;
}

export class SessionHub {
  private current: Session | null = null;
  private waiters: ((s: Session) => void)[] = [];

  /** Called by the connection loop after `welcome`. */
  open(session: Session): void {
    this.current = session;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(session);
    session.ended.then(() => {
      if (this.current === session) this.current = null;
    });
  }

  /** The live session, or null while disconnected. */
  live(): Session | null {
    return this.current?.isLive() ? this.current : null;
  }

  /** Sends on the live session if there is one (progress, start requests: best effort). */
  send(msg: AgentMessage): boolean {
    return this.live()?.send(msg) ?? false;
  }

  /** The live session, or the next one; null if `signal` aborts first. */
  async next(signal: AbortSignal): Promise<Session | null> {
    const now = this.live();
    if (now) return now;
    if (signal.aborted) return null;
    return await new Promise<Session | null>((resolve) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== onSession);
        resolve(null);
      };
      const onSession = (s: Session) => {
        signal.removeEventListener("abort", onAbort);
        resolve(s);
      };
      this.waiters.push(onSession);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

// The sockets this gateway holds, by agent id, and what each knows about its agent. A
// session's frames are handled one at a time, in order, through its queue.
import type { WebSocket } from "uWebSockets.js";
import type { AgentRow } from "@labbridge/store";
import type { AgentPause, ServerMessage } from "@labbridge/protocol";
import { encodeFrame } from "@labbridge/protocol/frame_codec";
import type { Counter } from "@labbridge/metrics";
import type { FrameLimiter } from "./frame_limits.ts";
import type { LogAllowances } from "./log_allowance.ts";

/**
 * Per-socket state, kept as the uWS user data. uWS copies each property of the object given
 * to upgrade() onto its socket object, and V8 keeps that object compact only while it gets
 * at most 15 of them there: past that it turns into a hash table of about 830 bytes a
 * socket, a third of a session's memory. So what a session rarely needs sits in objects
 * made on first use (`attempts`), and test/unit/socket_data.test.ts holds the count.
 */
export interface SocketData {
  kind: "agent" | "enroll" | "rejected";
  sessionId: string;
  /** The agent as enrolled: only what the session uses, so the full MySQL row is not kept per socket. */
  agent: SessionAgent | null;
  /** Enrollment token, only for kind "enroll"; never logged. */
  token: string | null;
  rejection: { code: number; error: "invalid_token" | "forbidden" | "rate_limited" | "unavailable"; message: string } | null;
  /** The peer's address as uWS saw it at the upgrade (a proxy's, behind one), for audit rows. */
  remoteAddress: string;
  helloDone: boolean;
  /** The agent.online data of this session's hello, announced again with the new list when its GPUs change. */
  online?: Record<string, unknown>;
  /** Whether this session agreed on compressed frames (hello offered, welcome said so): frame_codec.ts. */
  compress: boolean;
  closed: boolean;
  queue: Promise<void>;
  /** This session's token buckets, one per frame type. */
  limits: FrameLimiter;
  /** Set when the session went over a limit: it is closing, and its queued frames are dropped. */
  rateLimited: boolean;
  /** What the session keeps about attempts it reported on; made on first use (most sessions never run one): attemptsOf(). */
  attempts: SessionAttempts | null;
}

/** What a session keeps about the attempts it named, each part made on first use. */
export interface SessionAttempts {
  /** When each attempt's last progress was forwarded. */
  lastProgressAt: Map<string, number> | null;
  /** Live log allowance of each attempt this session sent log lines for (log_allowance.ts). */
  logAllowances: LogAllowances | null;
  /** Attempt ids found to be this agent's, or not (own_attempts.ts). */
  own: Set<string> | null;
  foreign: Set<string> | null;
  /** Whether this session was already warned about naming attempts that are not its own. */
  warnedForeign: boolean;
}

/** The session's attempt bookkeeping, made on first use. */
export function attemptsOf(data: SocketData): SessionAttempts {
  return (data.attempts ??= { lastProgressAt: null, logAllowances: null, own: null, foreign: null, warnedForeign: false });
}

/**
 * What a session keeps of its agent's row, and the API's pause as the row held it at the
 * upgrade (null for almost every agent), which hello passes on.
 */
export type SessionAgent = Pick<AgentRow, "id" | "os"> & { apiPause: AgentPause | null };

/** The queue of a session with nothing queued, shared by every socket: memory per connection decides how many agents a gateway holds. */
export const SETTLED_QUEUE: Promise<void> = Promise.resolve();

/** A socket with our user data. */
export type AgentSocket = WebSocket<SocketData>;

/** Sends a message if the socket is open, counting bytes; false when it could not be sent. */
export function sendTo(ws: AgentSocket, message: ServerMessage, sent: Counter): boolean {
  const data = ws.getUserData();
  if (data.closed) return false;
  const frame = encodeFrame(JSON.stringify(message), data.compress);
  // Wire bytes: what the 5 Mbit/s link really carries.
  sent.inc(typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength);
  // 2 = dropped by back-pressure limit; 0 = buffered (still delivered).
  return ws.send(frame, typeof frame !== "string") !== 2;
}

/** Closes a socket with a code, once. */
export function closeSocket(ws: AgentSocket, code: number, reason: string): void {
  const data = ws.getUserData();
  if (data.closed) return;
  data.closed = true;
  ws.end(code, reason);
}

/** Agent id → its socket on this gateway. */
export class AgentSessions {
  private readonly byAgent = new Map<string, AgentSocket>();

  /** Registers the socket for the agent; returns the socket it replaces on this gateway, if any. */
  set(agentId: string, ws: AgentSocket): AgentSocket | null {
    const old = this.byAgent.get(agentId) ?? null;
    this.byAgent.set(agentId, ws);
    return old && old !== ws ? old : null;
  }

  /** Forgets the socket if it is still the agent's current one. */
  delete(agentId: string, ws: AgentSocket): void {
    if (this.byAgent.get(agentId) === ws) this.byAgent.delete(agentId);
  }

  /** The agent's socket on this gateway, if connected here and past hello. */
  get(agentId: string): AgentSocket | null {
    const ws = this.byAgent.get(agentId);
    return ws && !ws.getUserData().closed && ws.getUserData().helloDone ? ws : null;
  }

  /** Number of agents connected here. */
  get size(): number {
    return this.byAgent.size;
  }

  /** Every socket, for shutdown. */
  all(): AgentSocket[] {
    return [...this.byAgent.values()];
  }
}

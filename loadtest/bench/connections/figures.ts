// The arithmetic of the connection figures, kept pure so it is unit-tested
// (test/unit/bench_connections.test.ts): the RSS slope, the wire bytes an idle agent
// costs with the framing a real link adds, and how far ONLINE in MySQL lags welcome.
import { percentile } from "../stats.ts";

/** Least-squares slope of y against x (bytes per connection for RSS against connections). */
export function slope(points: readonly { x: number; y: number }[]): number {
  if (points.length < 2) return NaN;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? NaN : sxy / sxx;
}

/**
 * Framing a frame costs on the 5 Mbit/s link beyond its WebSocket payload, for a frame
 * under 126 bytes sent alone: the WebSocket header (2 B, 6 B with the client's mask), a
 * TLS 1.3 record (5 B header, 16 B AEAD tag, 1 B inner content type), and one TCP/IPv4
 * segment (20 B IP, 20 B TCP, 12 B timestamp option).
 */
export const FRAMING = { wsServer: 2, wsClient: 6, tls: 22, tcpIp: 52 } as const;

/** Counters of the frames a set of agents exchanged over some seconds. */
export interface FrameCounts {
  framesOut: number;
  framesIn: number;
  bytesOut: number;
  bytesIn: number;
  /** Pings the server sent (each answered by a pong). */
  pingsIn: number;
}

/**
 * Bytes per agent per second: the WebSocket payload, and an estimate of what the wire
 * carries, both from the frames the agents actually exchanged over `seconds` (so it
 * holds at whatever interval they beat: 5 s busy, 15 s idle, decision 0028). A frame the server answers at once carries the TCP ACK of the frame it answers;
 * the agent's side has nothing to send back, so its ACK of each server frame (after the
 * delayed-ACK timer) is a segment of its own.
 */
export function idleWireBytes(c: FrameCounts, agents: number, seconds: number): { payload: number; wire: number } {
  const per = agents * seconds;
  if (!(per > 0)) return { payload: NaN, wire: NaN };
  const payload = c.bytesOut + c.bytesIn;
  const serverFrames = c.framesIn + c.pingsIn;
  const clientFrames = c.framesOut + c.pingsIn; // every ping gets a pong
  const framing = serverFrames * (FRAMING.wsServer + FRAMING.tls + FRAMING.tcpIp) + clientFrames * (FRAMING.wsClient + FRAMING.tls + FRAMING.tcpIp) + serverFrames * FRAMING.tcpIp;
  return { payload: payload / per, wire: (payload + framing) / per };
}

/**
 * How long each agent waited, after its welcome, to be ONLINE in MySQL, read off the two
 * curves: the k-th welcome is matched with the moment the ONLINE count first reached k
 * (agent.online entries are applied in the order they were appended, so the k-th agent
 * welcomed is, give or take a batch, the k-th made ONLINE). Returns the lags in ms.
 */
export function onlineLags(welcomeTimes: readonly number[], onlineCurve: readonly { t: number; n: number }[]): number[] {
  const welcomes = [...welcomeTimes].sort((a, b) => a - b);
  const lags: number[] = [];
  let j = 0;
  for (let k = 0; k < welcomes.length; k++) {
    while (j < onlineCurve.length && onlineCurve[j]!.n < k + 1) j++;
    if (j === onlineCurve.length) break; // never reached: counted as missing by the caller
    lags.push(Math.max(0, onlineCurve[j]!.t - welcomes[k]!));
  }
  return lags;
}

/** p99 of the lags in seconds, or NaN when some agent never got ONLINE. */
export function onlineLagP99Seconds(welcomeTimes: readonly number[], onlineCurve: readonly { t: number; n: number }[]): number {
  const lags = onlineLags(welcomeTimes, onlineCurve);
  if (lags.length < welcomeTimes.length) return NaN;
  return percentile(lags, 99) / 1000;
}

// Measures this machine's clock against a gateway's: the `Date` header of a plain HTTP(S)
// request to the gateway (uWebSockets.js and Deno.serve both send one), compared with the
// middle of the round trip. The header has 1 s resolution, so the answer is ±(1 s + RTT/2).
// (Task I adds skew measurement to the session; the lead folds the two together.)

/** The gateway's HTTP(S) URL for an agent address (ws → http, wss → https). */
export function gatewayHttpUrl(server: string): string {
  const url = new URL(server);
  if (url.protocol === "ws:") url.protocol = "http:";
  if (url.protocol === "wss:") url.protocol = "https:";
  url.pathname = url.pathname.replace(/\/+$/, "") + "/v1/agent";
  return url.toString();
}

/** The gateway's clock minus ours, in ms (positive: we are behind), and the round trip. */
export interface SkewMeasure {
  skewMs: number;
  rttMs: number;
}

/** One measurement against `server`; throws when the gateway does not answer or sends no Date. */
export async function measureGatewaySkew(
  server: string,
  opts: { now: () => number; timeoutMs: number; client?: Deno.HttpClient },
): Promise<SkewMeasure> {
  const sent = opts.now();
  const res = await fetch(gatewayHttpUrl(server), { method: "GET", signal: AbortSignal.timeout(opts.timeoutMs), client: opts.client });
  const received = opts.now();
  await res.body?.cancel();
  const date = res.headers.get("date");
  const serverMs = date === null ? NaN : Date.parse(date);
  if (Number.isNaN(serverMs)) throw new Error(`The gateway's answer has no usable Date header: "${date ?? ""}"`);
  // The header is truncated to the second: its middle is half a second later.
  return { skewMs: serverMs + 500 - (sent + received) / 2, rttMs: received - sent };
}

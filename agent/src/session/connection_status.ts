// What stands between this workstation and its gateway, in words an admin can act on. A
// campus network fails in a few typical ways: a captive portal answers every address with
// its sign-in page, a TLS-inspecting firewall shows its own certificate, a proxy wants
// credentials, DNS or the route is down. Each is recognized from the connect error (and,
// for a web page where a WebSocket upgrade was expected, one plain GET of the same URL),
// logged once when it starts and once when it ends, never as a stack trace per retry, and
// kept here for `status`, `doctor` and the local control endpoint.

/** The states a connection attempt can end in. */
export type NetworkState =
  | "connected"
  | "captive_portal"
  | "tls_untrusted"
  | "proxy_auth_required"
  | "dns_failed"
  | "unreachable"
  | "gateway_error";

/** One reading of the network, for people. */
export interface NetworkReading {
  state: NetworkState;
  /** What happened, in a sentence. */
  message: string;
  /** What to do about it; null when nothing is wrong. */
  fix: string | null;
}

/** States that a person on the network must clear (retrying quickly will not help). */
export const NEEDS_A_PERSON: ReadonlySet<NetworkState> = new Set(["captive_portal", "tls_untrusted", "proxy_auth_required"]);

/** What a plain GET of the gateway URL showed (for a portal check). */
export interface PortalProbe {
  status: number;
  contentType: string | null;
  location: string | null;
}

const statusOf = (error: string) => {
  const m = /status code:?\s*(\d{3})/i.exec(error);
  return m ? Number(m[1]) : null;
};

/**
 * Classifies a failed connect. `probe` is the plain GET of the gateway URL, when one was made
 * (only for an unexpected 2xx/3xx answer to the upgrade).
 */
export function classifyConnectFailure(error: string, host: string, probe: PortalProbe | null = null): NetworkReading {
  const status = statusOf(error);
  const e = error.toLowerCase();
  if (e.includes("proxy authentication required") || status === 407) {
    return {
      state: "proxy_auth_required",
      message: "the proxy asks for credentials",
      fix: "give the proxy's user name and password in its URL (user:password@ before the host, in --proxy or HTTPS_PROXY)",
    };
  }
  if (e.includes("certificate") || e.includes("unknownissuer") || e.includes("tls handshake")) {
    return {
      state: "tls_untrusted",
      message: `the certificate presented for ${host} is not trusted: a captive portal or TLS inspection on this network`,
      fix: `sign in to the network in a browser, or ask IT to exempt ${host} from TLS inspection (or install their root certificate in the system store and set DENO_TLS_CA_STORE=system)`,
    };
  }
  const html = probe?.contentType?.toLowerCase().includes("text/html") ?? false;
  if (status !== null && ((status >= 200 && status < 400) || html)) {
    const where = probe?.location ? ` (it sends browsers to ${safeLocation(probe.location)})` : "";
    if (html || (status >= 300 && status < 400)) {
      return {
        state: "captive_portal",
        message: `the network answered the gateway address with a web page instead of the gateway${where}: a captive portal`,
        fix: "sign in to the network in a browser on this workstation; the agent retries by itself",
      };
    }
    return { state: "gateway_error", message: `the gateway address answered HTTP ${status} instead of a WebSocket upgrade`, fix: "check the --server address" };
  }
  if (e.includes("dns error") || e.includes("lookup") || e.includes("name or service not known")) {
    return { state: "dns_failed", message: `the name ${host} does not resolve`, fix: "check the network connection and the --server address" };
  }
  if (status !== null) {
    return { state: "gateway_error", message: `the gateway answered HTTP ${status}`, fix: status >= 500 ? "the gateway side has a problem; the agent retries" : null };
  }
  return {
    state: "unreachable",
    message: `cannot reach ${host}: ${error.replace(/^NetworkError: /, "")}`,
    fix: "check the network connection, a firewall on port 443, or set a proxy (--proxy / HTTPS_PROXY)",
  };
}

/** A portal's redirect target without its query (it often carries session tokens). */
function safeLocation(location: string): string {
  try {
    const u = new URL(location);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "another address";
  }
}

/** True when a failed upgrade's status is worth a plain GET to look for a portal page. */
export function worthProbing(error: string): boolean {
  const status = statusOf(error);
  return status !== null && ((status >= 200 && status < 400) || status === 401 || status === 403);
}

/** A plain GET of the gateway URL (ws → http), redirects not followed: what a browser would be shown. */
export async function probeForPortal(wsUrl: string, timeoutMs: number, fetchFn: typeof fetch = fetch): Promise<PortalProbe | null> {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  try {
    const res = await fetchFn(url, { redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return { status: res.status, contentType: res.headers.get("content-type"), location: res.headers.get("location") };
  } catch {
    return null;
  }
}

/** The agent's view of its connection, kept current by the connection loop. */
export interface ConnectionSnapshot {
  reading: NetworkReading;
  /** Since when (ms since the epoch) this state holds. */
  since: number;
  /** The gateway URL of the last try. */
  url: string | null;
  /** Session id while connected. */
  sessionId: string | null;
  /** The agent's clock minus the gateway's (ms), as measured at the last welcome; null before one. */
  clockSkewMs: number | null;
  /** Consecutive failed tries in the current state. */
  failures: number;
}

/** Holds the latest connection state and says whether a change is worth a log line. */
export class ConnectionStatus {
  private snap: ConnectionSnapshot;

  constructor(private readonly clock: () => number = Date.now) {
    this.snap = {
      reading: { state: "unreachable", message: "not connected yet", fix: null },
      since: clock(),
      url: null,
      sessionId: null,
      clockSkewMs: null,
      failures: 0,
    };
  }

  /** The current state, for status and doctor. */
  get current(): ConnectionSnapshot {
    return { ...this.snap, reading: { ...this.snap.reading } };
  }

  /** Records a failed try; true when the state changed (log it), false for one more of the same. */
  failed(url: string, reading: NetworkReading): boolean {
    const changed = reading.state !== this.snap.reading.state || this.snap.failures === 0;
    this.snap = {
      ...this.snap,
      reading,
      url,
      sessionId: null,
      since: changed ? this.clock() : this.snap.since,
      failures: changed ? 1 : this.snap.failures + 1,
    };
    return changed;
  }

  /** Records a welcome; returns the state it ended (null when already connected). */
  connected(url: string, sessionId: string, clockSkewMs: number | null): NetworkState | null {
    const before = this.snap.reading.state;
    this.snap = {
      reading: { state: "connected", message: `connected to ${new URL(url).host}`, fix: null },
      since: this.clock(),
      url,
      sessionId,
      clockSkewMs,
      failures: 0,
    };
    return before === "connected" ? null : before;
  }

  /** The session ended; the next failed try decides the new state. */
  disconnected(): void {
    this.snap = { ...this.snap, sessionId: null, failures: 0 };
  }
}

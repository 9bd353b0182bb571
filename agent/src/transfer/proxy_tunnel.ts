// Uploads through an HTTP proxy. Uploads use node:http(s) (transfer.ts says why), which,
// unlike Deno's fetch and WebSocket, ignores HTTPS_PROXY: on a campus network that allows
// only its proxy out, every output would fail. An https target gets a CONNECT tunnel with
// TLS on top (the proxy sees only the host name); an http target is sent to the proxy in
// absolute form. A proxy that refuses (407: credentials, 403: policy) is a TransferError
// that says so.
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { describeProxy, proxyAuthorization } from "../session/proxy.ts";

/** The proxy refused or failed the tunnel. */
export class ProxyError extends Error {
  override name = "ProxyError";
}

/** Where node:http(s).request sends a proxied request, and how. */
export interface ProxiedRequest {
  hostname: string;
  port: number;
  /** Absolute URL for an http target (the proxy forwards it), else the target's path. */
  path: string;
  /** Proxy-Authorization for an http target. */
  headers: Record<string, string>;
  /** For an https target: the TLS socket over the tunnel. */
  createConnection?: () => Socket;
}

const CONNECT_HEAD_LIMIT = 16 * 1024;

/** Opens a CONNECT tunnel to `host:port` through `proxy`; resolves with the raw socket once the proxy said 200. */
export function openTunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(Number(proxy.port || 80), proxy.hostname);
    const auth = proxyAuthorization(proxy);
    let head = "";
    const fail = (message: string) => {
      socket.destroy();
      reject(new ProxyError(`proxy ${describeProxy(proxy)} ${message}`));
    };
    const timer = setTimeout(() => fail(`did not open a tunnel to ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    socket.once("connect", () => {
      socket.write(
        `CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ""}\r\n`,
      );
    });
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) {
        if (head.length > CONNECT_HEAD_LIMIT) fail("sent an over-long answer to CONNECT");
        return;
      }
      clearTimeout(timer);
      socket.off("data", onData);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      if (status === 200) return resolve(socket);
      if (status === 407) return fail("asks for credentials (407): give them in the proxy URL (user:password@ before the host)");
      fail(`refused the tunnel to ${host}:${port} with HTTP ${status || "(no status)"}`);
    };
    socket.on("data", onData);
    socket.once("error", (e: Error) => {
      clearTimeout(timer);
      fail(`cannot be reached: ${e.message}`);
    });
  });
}

/** Builds the request for `target` through `proxy` (opening the tunnel first for https). */
export async function proxiedRequest(target: URL, proxy: URL, timeoutMs: number): Promise<ProxiedRequest> {
  if (target.protocol === "http:") {
    const auth = proxyAuthorization(proxy);
    return {
      hostname: proxy.hostname,
      port: Number(proxy.port || 80),
      path: target.href,
      headers: { Host: target.host, ...(auth ? { "Proxy-Authorization": auth } : {}) },
    };
  }
  const port = Number(target.port || 443);
  const raw = await openTunnel(proxy, target.hostname, port, timeoutMs);
  const secure = tlsConnect({ socket: raw, servername: target.hostname });
  return { hostname: target.hostname, port, path: `${target.pathname}${target.search}`, headers: {}, createConnection: () => secure };
}

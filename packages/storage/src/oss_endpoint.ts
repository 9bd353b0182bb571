import { isIP } from "node:net";
import type { StorageConfig } from "./storage_config.ts";

// Mirrors how ali-oss turns `endpoint` into request URLs (lib/common/client/initOptions.js and
// getReqUrl.js), so a URL signed here addresses the same host ali-oss itself would.

/** Scheme, host and port that object paths are appended to, e.g. `https://bucket.oss-cn-hangzhou.aliyuncs.com`. */
export function objectOrigin(config: StorageConfig): string {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(config.endpoint);
  const raw = hasScheme ? config.endpoint : `http${config.secure ? "s" : ""}://${config.endpoint}`;
  let endpoint: URL;
  try {
    endpoint = new URL(raw);
  } catch {
    throw new Error(`Invalid storage endpoint ${JSON.stringify(config.endpoint)}: not a URL or host name`);
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new Error(`Invalid storage endpoint ${JSON.stringify(config.endpoint)}: scheme must be http or https`);
  }
  // ali-oss drops any path of the endpoint; refusing it is kinder than signing a URL that ignores it.
  if (endpoint.pathname !== "/" || endpoint.search || endpoint.hash || endpoint.username) {
    throw new Error(`Invalid storage endpoint ${JSON.stringify(config.endpoint)}: must be a bare origin`);
  }
  if (config.cname) return endpoint.origin;
  // Virtual-hosted style needs a DNS name; ali-oss refuses to sign URLs for IP endpoints too.
  if (isIP(endpoint.hostname.replace(/^\[|\]$/g, "")) !== 0) {
    throw new Error(`Invalid storage endpoint ${JSON.stringify(config.endpoint)}: an IP endpoint needs cname true`);
  }
  return `${endpoint.protocol}//${config.bucket}.${endpoint.host}`;
}

/** URL path of `key`: each byte percent-encoded as ali-oss does, slashes kept. */
export function objectPath(key: string): string {
  return `/${encodeURIComponent(key).replace(/%2F/g, "/")}`;
}

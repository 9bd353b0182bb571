import type { IncomingHttpHeaders } from "node:http";
import { headerValue } from "./v1_signing.ts";

// What OSS keeps from the headers of an upload and sends back on GET and HEAD.

const STORED_HEADERS = ["cache-control", "content-disposition", "content-encoding", "content-language", "expires"];

/** Content-Type of the object; OSS stores application/octet-stream when none is given. */
export function contentTypeOf(headers: IncomingHttpHeaders): string {
  return headerValue(headers, "content-type") || "application/octet-stream";
}

/** The x-oss-meta-* headers, names lowercased as node delivers them. */
export function userMetaOf(headers: IncomingHttpHeaders): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    if (name.startsWith("x-oss-meta-")) meta[name] = headerValue(headers, name);
  }
  return meta;
}

/** The standard headers OSS stores with an object. */
export function storedHeadersOf(headers: IncomingHttpHeaders): Record<string, string> {
  const stored: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = headerValue(headers, name);
    if (value !== "") stored[name] = value;
  }
  return stored;
}

import { createHash, createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { RequestTarget } from "./request_target.ts";
import { headerValue } from "./v1_signing.ts";

// Signature version 4 (OSS4-HMAC-SHA256), which ali-oss sends only with
// `authorizationV4: true` and signatureUrlV4. Written from the OSS "Signature version 4"
// documentation and checked against ali-oss 6.23 signUtils.getCanonicalRequest.

/** Percent-encoding of V4 canonical requests: RFC 3986 unreserved characters kept. */
export function v4Encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Inputs of one V4 canonical request. */
export interface V4CanonicalInput {
  method: string;
  bucket: string;
  target: RequestTarget;
  headers: IncomingHttpHeaders;
  /** Lowercased extra header names the client chose to sign. */
  additionalHeaders: string[];
  /** Query names left out of the canonical query (the signature itself, in the query form). */
  excludeParams: ReadonlySet<string>;
}

/** The V4 canonical request: method, URI, query, headers, additional header names, payload hash. */
export function v4CanonicalRequest(input: V4CanonicalInput): string {
  const uri = v4Encode(`/${input.bucket}/${input.target.key}`).replace(/%2F/g, "/");
  const query = input.target.params
    .filter((p) => !input.excludeParams.has(p.name))
    .map((p) => ({ name: v4Encode(p.name), value: p.value ? v4Encode(p.value) : null }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => (p.value === null ? p.name : `${p.name}=${p.value}`))
    .join("&");
  const signedHeaders = new Set(input.additionalHeaders);
  for (const name of Object.keys(input.headers)) {
    if (name === "content-type" || name === "content-md5" || name.startsWith("x-oss-")) signedHeaders.add(name);
  }
  const canonicalHeaders = [...signedHeaders]
    .sort()
    .map((name) => `${name}:${headerValue(input.headers, name).trim()}\n`)
    .join("");
  return [
    input.method.toUpperCase(),
    uri,
    query,
    canonicalHeaders,
    input.additionalHeaders.join(";"),
    headerValue(input.headers, "x-oss-content-sha256") || "UNSIGNED-PAYLOAD",
  ].join("\n");
}

/** The V4 string to sign for `canonicalRequest` made at `timestamp` (yyyymmddTHHMMssZ) in `scope`. */
export function v4StringToSign(timestamp: string, scope: string, canonicalRequest: string): string {
  const hashed = createHash("sha256").update(canonicalRequest, "utf8").digest("hex");
  return ["OSS4-HMAC-SHA256", timestamp, scope, hashed].join("\n");
}

/** The hex V4 signature; `scope` is `yyyymmdd/region/product/aliyun_v4_request`. */
export function v4Signature(accessKeySecret: string, scope: string, stringToSign: string): string {
  const [day = "", region = "", product = "", terminator = ""] = scope.split("/");
  let key: Buffer = createHmac("sha256", `aliyun_v4${accessKeySecret}`).update(day).digest();
  for (const part of [region, product, terminator]) key = createHmac("sha256", key).update(part).digest();
  return createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
}

/** Milliseconds since epoch of a V4 timestamp such as 20250101T120000Z, or NaN. */
export function parseV4Timestamp(timestamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(timestamp);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

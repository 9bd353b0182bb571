import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { RequestTarget } from "./request_target.ts";

// Signature version 1, written from the OSS documentation ("Include signatures in the
// Authorization header", "Add signatures to URLs") and checked against ali-oss 6.23
// lib/common/signUtils.js buildCanonicalString/buildCanonicalizedResource:
//
//   VERB \n Content-MD5 \n Content-Type \n Date-or-Expires \n
//   x-oss-a:v \n x-oss-b:v \n ... /bucket/key?subresource&subresource=value
//
// Only the query parameters OSS calls sub-resources are signed; others (max-parts,
// part-number-marker, ...) travel unsigned, so the list below decides what a server signs.

/** Query names OSS signs in V1 (the list the official SDKs keep). */
export const SIGNED_SUB_RESOURCES: ReadonlySet<string> = new Set([
  "acl", "uploads", "location", "cors", "logging", "website", "referer", "lifecycle", "delete",
  "append", "tagging", "objectMeta", "uploadId", "partNumber", "security-token", "position", "img",
  "style", "styleName", "replication", "replicationProgress", "replicationLocation", "cname",
  "bucketInfo", "comp", "qos", "live", "status", "vod", "startTime", "endTime", "symlink",
  "x-oss-process", "response-content-type", "x-oss-traffic-limit", "response-content-language",
  "response-expires", "response-cache-control", "response-content-disposition",
  "response-content-encoding", "udf", "udfName", "udfImage", "udfId", "udfImageDesc",
  "udfApplication", "udfApplicationLog", "restore", "callback", "callback-var", "qosInfo", "policy",
  "stat", "encryption", "versions", "versioning", "versionId", "requestPayment",
  "x-oss-request-payer", "sequential", "inventory", "inventoryId", "continuation-token",
  "asyncFetch", "worm", "wormId", "wormExtend", "withHashContext", "x-oss-enable-md5",
  "x-oss-enable-sha1", "x-oss-enable-sha256", "x-oss-hash-ctx", "x-oss-md5-ctx",
  "transferAcceleration", "regionList", "cloudboxes", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask",
  "x-oss-ac-vpc-id", "x-oss-ac-forward-allow", "metaQuery", "resourceGroup", "rtc",
  "x-oss-async-process", "responseHeader",
]);

/** `/bucket/key` followed by the signed sub-resources of the query, sorted by name. */
export function v1CanonicalResource(bucket: string, target: RequestTarget): string {
  const names = [...target.query.keys()].filter((name) => SIGNED_SUB_RESOURCES.has(name)).sort();
  // Empty values are signed as a bare name, as ali-oss does for `?uploads` and `?append=`.
  const parts = names.map((name) => {
    const value = target.query.get(name);
    return value ? `${name}=${value}` : name;
  });
  const resource = `/${bucket}/${target.key}`;
  return parts.length === 0 ? resource : `${resource}?${parts.join("&")}`;
}

/** The V1 string to sign; `dateOrExpires` is the Date (header form) or Expires (query form) value. */
export function v1StringToSign(
  method: string,
  headers: IncomingHttpHeaders,
  dateOrExpires: string,
  canonicalResource: string,
): string {
  const ossHeaders = Object.keys(headers)
    .filter((name) => name.startsWith("x-oss-"))
    .sort()
    .map((name) => `${name}:${headerValue(headers, name).trim()}`);
  return [
    method.toUpperCase(),
    headerValue(headers, "content-md5"),
    headerValue(headers, "content-type"),
    dateOrExpires,
    ...ossHeaders,
    canonicalResource,
  ].join("\n");
}

/** The base64 HMAC-SHA1 of `stringToSign`. */
export function v1Signature(accessKeySecret: string, stringToSign: string): string {
  return createHmac("sha1", accessKeySecret).update(stringToSign, "utf8").digest("base64");
}

/** Whether two secrets-derived strings are equal, in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so not even the length of the expected value leaks.
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

/** A header as one string: "" when absent, repeated values joined as node does. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  if (value === undefined) return "";
  return Array.isArray(value) ? value.join(", ") : value;
}

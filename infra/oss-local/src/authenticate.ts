import type { IncomingHttpHeaders } from "node:http";
import { OssError } from "./oss_error.ts";
import type { RequestTarget } from "./request_target.ts";
import {
  constantTimeEqual,
  headerValue,
  v1CanonicalResource,
  v1Signature,
  v1StringToSign,
} from "./v1_signing.ts";
import { parseV4Timestamp, v4CanonicalRequest, v4Signature, v4StringToSign } from "./v4_signing.ts";

// Every request must carry one of the four OSS signature forms: V1 or V4, in the
// Authorization header or in the query (presigned URL). There is no anonymous access,
// as with a private bucket.

/** Credentials and time the store checks signatures against. */
export interface AuthContext {
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  nowMs: number;
}

/** The request as the signature sees it. */
export interface SignedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  target: RequestTarget;
}

/** OSS refuses header-signed requests whose time is further than this from its own. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const V4_ALGORITHM = "OSS4-HMAC-SHA256";

/** Returns when `request` is signed with the store's key and still valid; throws OssError otherwise. */
export function authenticate(request: SignedRequest, ctx: AuthContext): void {
  const { query } = request.target;
  if (query.has("x-oss-signature") || query.get("x-oss-signature-version") === V4_ALGORITHM) {
    return checkV4Query(request, ctx);
  }
  if (query.has("Signature") || query.has("OSSAccessKeyId") || query.has("Expires")) {
    return checkV1Query(request, ctx);
  }
  const authorization = headerValue(request.headers, "authorization");
  if (authorization.startsWith("OSS ")) return checkV1Header(request, authorization, ctx);
  if (authorization.startsWith(`${V4_ALGORITHM} `)) return checkV4Header(request, authorization, ctx);
  if (authorization !== "") throw accessDenied("Unknown Authorization scheme: expected \"OSS\" or \"OSS4-HMAC-SHA256\"");
  throw accessDenied("Request is not signed: send an Authorization header or use a presigned URL");
}

function checkV1Query(request: SignedRequest, ctx: AuthContext): void {
  const { query } = request.target;
  const accessKeyId = requiredParam(query, "OSSAccessKeyId");
  const expires = requiredParam(query, "Expires");
  const signature = requiredParam(query, "Signature");
  checkAccessKeyId(accessKeyId, ctx);
  if (!/^\d{1,12}$/.test(expires)) throw accessDenied(`Invalid Expires ${JSON.stringify(expires)}: must be Unix seconds`);
  const stringToSign = v1StringToSign(
    request.method,
    request.headers,
    expires,
    v1CanonicalResource(ctx.bucket, request.target),
  );
  checkSignature(signature, v1Signature(ctx.accessKeySecret, stringToSign), stringToSign, accessKeyId);
  checkNotExpired(Number(expires) * 1000, ctx.nowMs);
}

function checkV1Header(request: SignedRequest, authorization: string, ctx: AuthContext): void {
  const m = /^OSS ([^:\s]+):(\S+)$/.exec(authorization.trim());
  if (!m) throw accessDenied('Malformed Authorization header: expected "OSS <AccessKeyId>:<Signature>"');
  const [, accessKeyId = "", signature = ""] = m;
  checkAccessKeyId(accessKeyId, ctx);
  // ali-oss sends x-oss-date (not Date) and signs it in the Date slot; OSS accepts either.
  const date = headerValue(request.headers, "x-oss-date") || headerValue(request.headers, "date");
  if (date === "") throw accessDenied("Request has no Date or x-oss-date header");
  const stringToSign = v1StringToSign(
    request.method,
    request.headers,
    date,
    v1CanonicalResource(ctx.bucket, request.target),
  );
  checkSignature(signature, v1Signature(ctx.accessKeySecret, stringToSign), stringToSign, accessKeyId);
  checkClockSkew(Date.parse(date), date, ctx.nowMs);
}

function checkV4Header(request: SignedRequest, authorization: string, ctx: AuthContext): void {
  const fields = new Map<string, string>();
  for (const part of authorization.slice(V4_ALGORITHM.length).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential") ?? "";
  const signature = fields.get("Signature") ?? "";
  const timestamp = headerValue(request.headers, "x-oss-date");
  if (credential === "" || signature === "") {
    throw accessDenied("Malformed Authorization header: expected Credential and Signature");
  }
  const scope = checkV4Credential(credential, timestamp, ctx);
  const additionalHeaders = splitHeaderNames(fields.get("AdditionalHeaders") ?? "");
  const canonical = v4CanonicalRequest({
    method: request.method,
    bucket: ctx.bucket,
    target: request.target,
    headers: request.headers,
    additionalHeaders,
    excludeParams: new Set(),
  });
  const stringToSign = v4StringToSign(timestamp, scope.scope, canonical);
  checkSignature(signature, v4Signature(ctx.accessKeySecret, scope.scope, stringToSign), stringToSign, scope.accessKeyId);
  checkClockSkew(parseV4Timestamp(timestamp), timestamp, ctx.nowMs);
}

function checkV4Query(request: SignedRequest, ctx: AuthContext): void {
  const { query } = request.target;
  const credential = requiredParam(query, "x-oss-credential");
  const timestamp = requiredParam(query, "x-oss-date");
  const expires = requiredParam(query, "x-oss-expires");
  const signature = requiredParam(query, "x-oss-signature");
  const scope = checkV4Credential(credential, timestamp, ctx);
  if (!/^\d{1,9}$/.test(expires)) throw accessDenied(`Invalid x-oss-expires ${JSON.stringify(expires)}: must be seconds`);
  const canonical = v4CanonicalRequest({
    method: request.method,
    bucket: ctx.bucket,
    target: request.target,
    headers: request.headers,
    additionalHeaders: splitHeaderNames(query.get("x-oss-additional-headers") ?? ""),
    excludeParams: new Set(["x-oss-signature"]),
  });
  const stringToSign = v4StringToSign(timestamp, scope.scope, canonical);
  checkSignature(signature, v4Signature(ctx.accessKeySecret, scope.scope, stringToSign), stringToSign, scope.accessKeyId);
  checkNotExpired(parseV4Timestamp(timestamp) + Number(expires) * 1000, ctx.nowMs);
}

/** Checks `id/yyyymmdd/region/product/aliyun_v4_request`; any region is accepted, as the store has none. */
function checkV4Credential(credential: string, timestamp: string, ctx: AuthContext) {
  const parts = credential.split("/");
  const [accessKeyId = "", day = "", region = "", product = "", terminator = ""] = parts;
  if (parts.length !== 5 || region === "" || product === "" || terminator !== "aliyun_v4_request") {
    throw accessDenied(`Malformed credential ${JSON.stringify(credential)}: expected "<AccessKeyId>/<date>/<region>/oss/aliyun_v4_request"`);
  }
  checkAccessKeyId(accessKeyId, ctx);
  if (Number.isNaN(parseV4Timestamp(timestamp)) || !timestamp.startsWith(day)) {
    throw accessDenied(`Invalid x-oss-date ${JSON.stringify(timestamp)}: must be yyyymmddTHHMMssZ on the credential date`);
  }
  return { accessKeyId, scope: parts.slice(1).join("/") };
}

function checkAccessKeyId(accessKeyId: string, ctx: AuthContext): void {
  if (!constantTimeEqual(accessKeyId, ctx.accessKeyId)) {
    throw new OssError(403, "InvalidAccessKeyId", `Unknown access key id ${JSON.stringify(accessKeyId)}`, {
      OSSAccessKeyId: accessKeyId,
    });
  }
}

function checkSignature(provided: string, expected: string, stringToSign: string, accessKeyId: string): void {
  if (!constantTimeEqual(provided, expected)) {
    // Like OSS, hand back the string to sign: it holds no secret and shows at once what differs.
    throw new OssError(403, "SignatureDoesNotMatch", "Signature does not match: check the access key secret and what was signed", {
      StringToSign: stringToSign,
      OSSAccessKeyId: accessKeyId,
    });
  }
}

function checkNotExpired(expiresMs: number, nowMs: number): void {
  if (nowMs > expiresMs) {
    throw new OssError(403, "AccessDenied", "Request has expired", {
      Expires: new Date(expiresMs).toISOString(),
      ServerTime: new Date(nowMs).toISOString(),
    });
  }
}

function checkClockSkew(requestMs: number, raw: string, nowMs: number): void {
  if (Number.isNaN(requestMs)) throw accessDenied(`Invalid request date ${JSON.stringify(raw)}: not an HTTP date`);
  if (Math.abs(nowMs - requestMs) > MAX_CLOCK_SKEW_MS) {
    throw new OssError(403, "RequestTimeTooSkewed", `Request time ${JSON.stringify(raw)} is more than 15 minutes from server time`, {
      RequestTime: new Date(requestMs).toISOString(),
      ServerTime: new Date(nowMs).toISOString(),
    });
  }
}

function requiredParam(query: Map<string, string | null>, name: string): string {
  const value = query.get(name);
  if (!value) throw accessDenied(`Presigned URL has no ${name}`);
  return value;
}

function splitHeaderNames(list: string): string[] {
  return list === "" ? [] : [...new Set(list.split(";").map((h) => h.trim().toLowerCase()))].sort();
}

function accessDenied(message: string): OssError {
  return new OssError(403, "AccessDenied", message);
}

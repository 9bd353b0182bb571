import { createHmac } from "node:crypto";

// OSS signature version 1 for query-string (presigned) URLs, as documented by Aliyun
// ("Add signatures to URLs") and implemented by ali-oss signUtils._signatureForURL:
//   base64(HMAC-SHA1(secret, VERB \n Content-MD5 \n Content-Type \n Expires \n /bucket/key[?sub-resources]))
// The key in the resource is the raw key, not its URL encoding; sub-resources (uploadId,
// partNumber, ...) follow it sorted by name, as OSS canonicalizes them.

/** What one presigned V1 URL commits to. */
export interface V1UrlSigningInput {
  verb: "GET" | "PUT" | "POST" | "DELETE";
  bucket: string;
  key: string;
  /** Unix seconds after which OSS refuses the URL. */
  expires: number;
  /** Signed when given; the uploader must then send exactly this Content-Type. */
  contentType?: string;
  /** Signed sub-resources such as `uploadId` and `partNumber`; they go in the URL's query too. */
  subResources?: Record<string, string>;
}

/** `/bucket/key` followed by the signed sub-resources, sorted by name. */
export function v1UrlResource(input: Pick<V1UrlSigningInput, "bucket" | "key" | "subResources">): string {
  const names = Object.keys(input.subResources ?? {}).sort();
  const resource = `/${input.bucket}/${input.key}`;
  if (names.length === 0) return resource;
  return `${resource}?${names.map((n) => (input.subResources![n] ? `${n}=${input.subResources![n]}` : n)).join("&")}`;
}

/** The V1 string to sign for a presigned URL. */
export function v1UrlStringToSign(input: V1UrlSigningInput): string {
  return [input.verb, "", input.contentType ?? "", String(input.expires), v1UrlResource(input)].join("\n");
}

/** The base64 HMAC-SHA1 V1 signature of `stringToSign`. */
export function v1Signature(accessKeySecret: string, stringToSign: string): string {
  return createHmac("sha1", accessKeySecret).update(stringToSign, "utf8").digest("base64");
}

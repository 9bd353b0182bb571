import { createHmac } from "node:crypto";

// OSS signature version 1 for query-string (presigned) URLs, as documented by Aliyun
// ("Add signatures to URLs") and implemented by ali-oss signUtils._signatureForURL:
//   base64(HMAC-SHA1(secret, VERB \n Content-MD5 \n Content-Type \n Expires \n /bucket/key))
// The key in the resource is the raw key, not its URL encoding.

/** What one presigned V1 URL commits to. */
export interface V1UrlSigningInput {
  verb: "GET" | "PUT";
  bucket: string;
  key: string;
  /** Unix seconds after which OSS refuses the URL. */
  expires: number;
  /** Signed when given; the uploader must then send exactly this Content-Type. */
  contentType?: string;
}

/** The V1 string to sign for a presigned URL. */
export function v1UrlStringToSign(input: V1UrlSigningInput): string {
  return [input.verb, "", input.contentType ?? "", String(input.expires), `/${input.bucket}/${input.key}`].join("\n");
}

/** The base64 HMAC-SHA1 V1 signature of `stringToSign`. */
export function v1Signature(accessKeySecret: string, stringToSign: string): string {
  return createHmac("sha1", accessKeySecret).update(stringToSign, "utf8").digest("base64");
}

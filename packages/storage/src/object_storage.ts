import OSS from "ali-oss";
import { assertValidObjectKey } from "./object_key.ts";
import { objectOrigin, objectPath } from "./oss_endpoint.ts";
import { v1Signature, v1UrlStringToSign, type V1UrlSigningInput } from "./oss_v1_signature.ts";
import type { StorageConfig } from "./storage_config.ts";

// URLs are signed here rather than with ali-oss signatureUrl: that one reads the wall clock
// (no injected clock for tests) and refuses IP endpoints, which is what oss-local listens on.
// The output is byte-identical to signatureUrl's for the same expiry (see the integration test).

/** A presigned download. */
export interface PresignedGet {
  url: string;
  /** RFC 3339 time after which OSS refuses the URL. */
  expiresAt: string;
}

/** A presigned upload: send `method` to `url` with exactly `headers`. */
export interface PresignedPut {
  url: string;
  method: "PUT";
  /** Headers that are part of the signature; any other Content-Type breaks it. */
  headers: Record<string, string>;
  /** RFC 3339 time after which OSS refuses the URL. */
  expiresAt: string;
}

/** Signs object URLs locally; bytes never pass through the process that holds this. */
export interface ObjectStorage {
  /** URL that downloads `key` with a plain GET until `expiresSeconds` from now. */
  presignGet(key: string, expiresSeconds: number): PresignedGet;
  /** URL that uploads `key` with a PUT until `expiresSeconds` from now, signing `contentType` when given. */
  presignPut(key: string, expiresSeconds: number, contentType?: string): PresignedPut;
  /** The ali-oss client on the same config, for tests and administration. */
  readonly client: OSS;
}

/** Object storage on an OSS-compatible endpoint; `clock` (ms since epoch) sets the start of every expiry. */
export function createObjectStorage(config: StorageConfig, clock: () => number = Date.now): ObjectStorage {
  const origin = objectOrigin(config);
  const client = new OSS({
    endpoint: config.endpoint,
    bucket: config.bucket,
    accessKeyId: config.accessKeyId,
    accessKeySecret: config.accessKeySecret,
    cname: config.cname,
    // ali-oss merges options over its defaults, so an explicit undefined would wipe the default region.
    ...(config.region !== undefined ? { region: config.region } : {}),
    ...(config.secure !== undefined ? { secure: config.secure } : {}),
  });

  function presign(input: Omit<V1UrlSigningInput, "bucket" | "expires">, expiresSeconds: number) {
    assertValidObjectKey(input.key);
    if (!Number.isInteger(expiresSeconds) || expiresSeconds <= 0) {
      throw new Error(`Invalid expiry ${JSON.stringify(expiresSeconds)}: must be a positive whole number of seconds`);
    }
    const expires = Math.floor(clock() / 1000) + expiresSeconds;
    const signature = v1Signature(
      config.accessKeySecret,
      v1UrlStringToSign({ ...input, bucket: config.bucket, expires }),
    );
    const query =
      `OSSAccessKeyId=${encodeURIComponent(config.accessKeyId)}` +
      `&Expires=${expires}` +
      `&Signature=${encodeURIComponent(signature)}`;
    return {
      url: `${origin}${objectPath(input.key)}?${query}`,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }

  return {
    presignGet(key, expiresSeconds) {
      return presign({ verb: "GET", key }, expiresSeconds);
    },
    presignPut(key, expiresSeconds, contentType): PresignedPut {
      const headers: Record<string, string> = {};
      if (contentType !== undefined) {
        // A line break would forge extra lines in the string to sign; HTTP forbids it in headers anyway.
        if (contentType === "" || /[\u0000-\u001f\u007f]/.test(contentType)) {
          throw new Error(`Invalid content type ${JSON.stringify(contentType)}: must be non-empty without control characters`);
        }
        headers["Content-Type"] = contentType;
      }
      return { ...presign({ verb: "PUT", key, contentType }, expiresSeconds), method: "PUT", headers };
    },
    client,
  };
}

import OSS from "ali-oss";
import { COMPLETE_CONTENT_TYPE, MAX_PARTS } from "@labbridge/protocol";
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

/** A presigned request other than a plain PUT: send `method` to `url` with exactly `headers`. */
export interface PresignedRequest {
  method: "POST" | "DELETE";
  url: string;
  /** Headers that are part of the signature. */
  headers: Record<string, string>;
  /** RFC 3339 time after which OSS refuses the URL. */
  expiresAt: string;
}

/** A part the store holds for a multipart upload. */
export interface UploadedPart {
  number: number;
  size: number;
  /** As OSS returns it: quoted hex MD5 of the part. */
  etag: string;
}

/** Signs object URLs locally; bytes never pass through the process that holds this. */
export interface ObjectStorage {
  /** URL that downloads `key` with a plain GET until `expiresSeconds` from now. */
  presignGet(key: string, expiresSeconds: number): PresignedGet;
  /** URL that uploads `key` with a PUT until `expiresSeconds` from now, signing `contentType` when given. */
  presignPut(key: string, expiresSeconds: number, contentType?: string): PresignedPut;
  /** URL that uploads part `partNumber` of multipart upload `uploadId` of `key`, signing `contentType` when given. */
  presignUploadPart(key: string, uploadId: string, partNumber: number, expiresSeconds: number, contentType?: string): PresignedPut;
  /** URL that completes multipart upload `uploadId` of `key` with a CompleteMultipartUpload XML body. */
  presignCompleteUpload(key: string, uploadId: string, expiresSeconds: number): PresignedRequest;
  /** URL that aborts multipart upload `uploadId` of `key` (DELETE), dropping the parts it holds. */
  presignAbortUpload(key: string, uploadId: string, expiresSeconds: number): PresignedRequest;
  /** Starts a multipart upload of `key` (a control call, no file bytes) and returns the store's UploadId. */
  initiateUpload(key: string, contentType: string): Promise<string>;
  /** The parts the store holds for `uploadId`, by ascending number; null when the upload is unknown or finished. */
  listUploadedParts(key: string, uploadId: string): Promise<UploadedPart[] | null>;
  /** The size of object `key`, or null when there is none. */
  objectSize(key: string): Promise<number | null>;
  /** The ali-oss client on the same config, for tests and administration. */
  readonly client: OSS;
}

interface ListPartsPage {
  parts?: { PartNumber: string; Size: string; ETag: string }[] | { PartNumber: string; Size: string; ETag: string };
  isTruncated?: boolean | string;
  nextPartNumberMarker?: string;
}

function isTrue(value: boolean | string | undefined): boolean {
  return value === true || value === "true";
}

function contentHeaders(contentType: string | undefined): Record<string, string> {
  if (contentType === undefined) return {};
  // A line break would forge extra lines in the string to sign; HTTP forbids it in headers anyway.
  if (contentType === "" || /[\u0000-\u001f\u007f]/.test(contentType)) {
    throw new Error(`Invalid content type ${JSON.stringify(contentType)}: must be non-empty without control characters`);
  }
  return { "Content-Type": contentType };
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
    for (const value of Object.values(input.subResources ?? {})) {
      // Sub-resource values are signed raw and sent as is: only URL-safe tokens may be either.
      if (!/^[A-Za-z0-9_.~-]*$/.test(value)) throw new Error(`Invalid sub-resource value ${JSON.stringify(value)}: must be URL-safe`);
    }
    assertValidObjectKey(input.key);
    if (!Number.isInteger(expiresSeconds) || expiresSeconds <= 0) {
      throw new Error(`Invalid expiry ${JSON.stringify(expiresSeconds)}: must be a positive whole number of seconds`);
    }
    const expires = Math.floor(clock() / 1000) + expiresSeconds;
    const signature = v1Signature(
      config.accessKeySecret,
      v1UrlStringToSign({ ...input, bucket: config.bucket, expires }),
    );
    const subQuery = Object.entries(input.subResources ?? {}).map(([n, v]) => `${n}=${v}&`).join("");
    const query =
      subQuery +
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
      return { ...presign({ verb: "PUT", key, contentType }, expiresSeconds), method: "PUT", headers: contentHeaders(contentType) };
    },
    presignUploadPart(key, uploadId, partNumber, expiresSeconds, contentType): PresignedPut {
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
        throw new Error(`Invalid part number ${JSON.stringify(partNumber)}: must be 1 to ${MAX_PARTS}`);
      }
      const subResources = { partNumber: String(partNumber), uploadId };
      return { ...presign({ verb: "PUT", key, contentType, subResources }, expiresSeconds), method: "PUT", headers: contentHeaders(contentType) };
    },
    presignCompleteUpload(key, uploadId, expiresSeconds): PresignedRequest {
      const signed = presign({ verb: "POST", key, contentType: COMPLETE_CONTENT_TYPE, subResources: { uploadId } }, expiresSeconds);
      return { ...signed, method: "POST", headers: contentHeaders(COMPLETE_CONTENT_TYPE) };
    },
    presignAbortUpload(key, uploadId, expiresSeconds): PresignedRequest {
      return { ...presign({ verb: "DELETE", key, subResources: { uploadId } }, expiresSeconds), method: "DELETE", headers: {} };
    },
    async initiateUpload(key, contentType) {
      assertValidObjectKey(key);
      const { uploadId } = await client.initMultipartUpload(key, { mime: contentType } as OSS.InitMultipartUploadOptions);
      return uploadId;
    },
    async listUploadedParts(key, uploadId) {
      assertValidObjectKey(key);
      const parts: UploadedPart[] = [];
      let marker = 0;
      try {
        for (;;) {
          // ali-oss's typings miss the paging fields it sends and returns.
          const page = (await client.listParts(key, uploadId, { "max-parts": "1000", "part-number-marker": String(marker) } as never)) as unknown as ListPartsPage;
          // ali-oss parses one <Part> as an object and several as an array.
          const listed = Array.isArray(page.parts) ? page.parts : page.parts ? [page.parts] : [];
          for (const p of listed) parts.push({ number: Number(p.PartNumber), size: Number(p.Size), etag: p.ETag });
          if (!isTrue(page.isTruncated) || !page.nextPartNumberMarker) break;
          marker = Number(page.nextPartNumberMarker);
        }
      } catch (error) {
        if ((error as { code?: string }).code === "NoSuchUpload") return null;
        throw error;
      }
      return parts.sort((a, b) => a.number - b.number);
    },
    async objectSize(key) {
      assertValidObjectKey(key);
      try {
        const head = await client.head(key);
        return Number((head.res.headers as Record<string, string>)["content-length"]);
      } catch (error) {
        if ((error as { status?: number }).status === 404) return null;
        throw error;
      }
    },
    client,
  };
}

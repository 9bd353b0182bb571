import { xmlDocument } from "./xml.ts";

// OSS reports every failure as an <Error> document; ali-oss turns Code into err.code and
// Message into err.message, so callers can branch on the same codes as against real OSS.

/** A failure with the status and OSS error code real OSS would answer with. */
export class OssError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra child elements of <Error>, such as StringToSign or Key. */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = "OssError";
  }
}

/** The <Error> XML document OSS sends for `error`. */
export function errorXml(error: OssError, requestId: string): string {
  return xmlDocument("Error", {
    Code: error.code,
    Message: error.message,
    RequestId: requestId,
    HostId: "oss-local",
    ...error.details,
  });
}

const q = JSON.stringify;

/** 404 for a key with no object. */
export function noSuchKey(key: string): OssError {
  return new OssError(404, "NoSuchKey", `No such key ${q(key)}`, { Key: key });
}

/** 404 for an upload id that was never initiated, or was completed or aborted. */
export function noSuchUpload(uploadId: string): OssError {
  return new OssError(404, "NoSuchUpload", `No such upload ${q(uploadId)}: it may have been aborted or completed`, {
    UploadId: uploadId,
  });
}

/** 400 for a request that names an object key OSS or this store refuses. */
export function invalidObjectName(message: string): OssError {
  return new OssError(400, "InvalidObjectName", message);
}

/** 400 for a malformed argument. */
export function invalidArgument(message: string, details: Record<string, string> = {}): OssError {
  return new OssError(400, "InvalidArgument", message, details);
}

/** 501 for an OSS feature this store does not have. */
export function notImplemented(message: string): OssError {
  return new OssError(501, "NotImplemented", message);
}

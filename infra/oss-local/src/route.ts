import type { IncomingMessage, ServerResponse } from "node:http";
import { abortUpload, completeUpload, initiateUpload, listParts, uploadPart } from "./multipart_handlers.ts";
import { deleteObject, getObject, putObject } from "./object_handlers.ts";
import { invalidArgument, notImplemented, OssError } from "./oss_error.ts";
import type { RequestTarget } from "./request_target.ts";
import type { StoreContext } from "./store_context.ts";
import { SIGNED_SUB_RESOURCES } from "./v1_signing.ts";

// Which operation an authenticated request is. Anything this store cannot do is refused
// with 501 rather than served as something else: `PUT /key?acl` must not overwrite the
// object with an ACL document.

/** Sub-resources the handlers understand; any other one is refused. */
const UNDERSTOOD = new Set([
  "uploads",
  "uploadId",
  "partNumber",
  "security-token",
  "response-content-type",
  "response-content-language",
  "response-expires",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
]);

/** Headers asking for features a plain PUT or POST would silently get wrong. */
const UNSUPPORTED_HEADERS = ["x-oss-copy-source", "x-oss-callback"];

/** Runs the operation `req` asks for. */
export async function route(store: StoreContext, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  const method = req.method ?? "";
  if (target.key === "") throw notImplemented("Bucket operations are not supported by oss-local: address an object key");
  for (const name of target.query.keys()) {
    if (SIGNED_SUB_RESOURCES.has(name) && !UNDERSTOOD.has(name)) {
      throw notImplemented(`Sub-resource ${JSON.stringify(name)} is not supported by oss-local`);
    }
  }
  for (const header of UNSUPPORTED_HEADERS) {
    if (req.headers[header] !== undefined) throw notImplemented(`Header ${JSON.stringify(header)} is not supported by oss-local`);
  }
  const { query } = target;
  const uploadId = query.has("uploadId");
  switch (method) {
    case "PUT":
      if (query.has("partNumber") !== uploadId) {
        throw invalidArgument("Upload part needs both partNumber and uploadId: one of them is missing");
      }
      return uploadId ? uploadPart(store, req, res, target) : putObject(store, req, res, target);
    case "POST":
      if (query.has("uploads")) return initiateUpload(store, req, res, target);
      if (uploadId) return completeUpload(store, req, res, target);
      throw notImplemented("POST without ?uploads or ?uploadId is not supported by oss-local");
    case "GET":
      return uploadId ? listParts(store, res, target) : getObject(store, req, res, target);
    case "HEAD":
      return getObject(store, req, res, target);
    case "DELETE":
      return uploadId ? abortUpload(store, res, target) : deleteObject(store, res, target);
    default:
      throw new OssError(405, "MethodNotAllowed", `Method ${JSON.stringify(method)} is not allowed on an object`);
  }
}

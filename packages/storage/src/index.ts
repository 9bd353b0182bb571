// Object storage for LabBridge: URLs signed locally for OSS, so bytes go straight between
// agents, clients and the bucket.

export type { StorageConfig } from "./storage_config.ts";
export { createObjectStorage } from "./object_storage.ts";
export { objectOrigin } from "./oss_endpoint.ts";
export type { ObjectStorage, PresignedGet, PresignedPut, PresignedRequest, UploadedPart } from "./object_storage.ts";
export { redactPresignedUrl } from "./redact_url.ts";
export { assertValidObjectKey, objectKeyProblem } from "./object_key.ts";

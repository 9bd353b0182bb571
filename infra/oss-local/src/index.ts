// oss-local: an Aliyun OSS-compatible object store on disk for development and tests.

export { startOssLocal } from "./server.ts";
export type { OssLocal, OssLocalLogger, OssLocalOptions } from "./server.ts";

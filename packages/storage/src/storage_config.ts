/** Where objects live and the credentials that sign URLs for them. */
export interface StorageConfig {
  /** `http://127.0.0.1:9000` for oss-local, `oss-cn-hangzhou.aliyuncs.com` for Aliyun OSS. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** True when `endpoint` already names the bucket (custom domain, oss-local): no `<bucket>.` host prefix. */
  cname: boolean;
  /** OSS region such as `oss-cn-hangzhou`; ali-oss uses it for the Host of requests to an IP endpoint. */
  region?: string;
  /** Use https when `endpoint` has no scheme. */
  secure?: boolean;
}

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { redactPresignedUrl } from "@labbridge/storage";
import { authenticate } from "./authenticate.ts";
import { addCorsHeaders, replyPreflight } from "./cors.ts";
import { prepareLayout } from "./disk_layout.ts";
import { asOssError, replyError } from "./http_reply.ts";
import { KeyLock } from "./key_lock.ts";
import { MultipartUploads } from "./multipart_uploads.ts";
import { ObjectFiles } from "./object_files.ts";
import { parseRequestTarget } from "./request_target.ts";
import { route } from "./route.ts";
import type { StoreContext } from "./store_context.ts";

/** Structured logger; pino's `info(fields, msg)` fits. */
export interface OssLocalLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
}

/** How to run a store. */
export interface OssLocalOptions {
  /** 0 picks a free port. */
  port: number;
  /** Interface to listen on; 127.0.0.1 unless given. */
  host?: string;
  /** Directory that holds the objects; created when missing. */
  dataDir: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Milliseconds since epoch, for expiry and clock-skew checks; Date.now unless given. */
  clock?: () => number;
  logger?: OssLocalLogger;
}

/** A running store. */
export interface OssLocal {
  /** Base URL such as http://127.0.0.1:9000; use it as the endpoint with cname true. */
  url: string;
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const silent: OssLocalLogger = { info() {}, warn() {} };

/** Starts an OSS-compatible object store on disk that checks real OSS signatures. */
export async function startOssLocal(options: OssLocalOptions): Promise<OssLocal> {
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(options.bucket)) {
    throw new Error(`Invalid bucket ${JSON.stringify(options.bucket)}: use 3 to 63 lowercase letters, digits and hyphens`);
  }
  if (options.accessKeyId === "" || options.accessKeySecret === "") {
    throw new Error("Invalid credentials: access key id and secret must not be empty");
  }
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? silent;
  const host = options.host ?? "127.0.0.1";
  const layout = await prepareLayout(options.dataDir);
  const lock = new KeyLock();
  const objects = new ObjectFiles(layout, lock);
  const store: StoreContext = {
    bucket: options.bucket,
    url: "",
    layout,
    objects,
    uploads: new MultipartUploads(layout, objects, lock, clock),
    clock,
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(12).toString("hex").toUpperCase();
    const started = performance.now();
    const method = req.method ?? "";
    // The path of a presigned request carries its signature; logs get it redacted.
    const path = redactPresignedUrl(req.url ?? "");
    res.setHeader("x-oss-request-id", requestId);
    res.setHeader("Server", "oss-local");
    addCorsHeaders(req, res);
    try {
      const target = parseRequestTarget(req.url ?? "");
      if (method === "OPTIONS") return replyPreflight(req, res);
      authenticate(
        { method, headers: req.headers, target },
        { bucket: options.bucket, accessKeyId: options.accessKeyId, accessKeySecret: options.accessKeySecret, nowMs: clock() },
      );
      await route(store, req, res, target);
    } catch (thrown) {
      const error = asOssError(thrown);
      // A download the client walked away from is not a store failure.
      const clientLeft = res.headersSent && (thrown as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE";
      if (!clientLeft && (error.status >= 500 || error.status === 403)) {
        logger.warn({ requestId, method, path, status: error.status, code: error.code, error: error.message }, "oss-local request failed");
      }
      if (res.headersSent) {
        // Mid-body failure (client gone, disk error): nothing sensible can follow the bytes sent.
        res.destroy();
      } else {
        replyError(res, method, error, requestId);
      }
    } finally {
      logger.info(
        { requestId, method, path, status: res.statusCode, ms: Math.round(performance.now() - started) },
        "oss-local request",
      );
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  store.url = url;

  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // ali-oss keeps connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      }),
  };
}

// The API process: the HTTP contract of API.md on uWebSockets.js. Writes jobs to MySQL
// and commands to streams; never touches file bytes.
import { loadConfig } from "@labbridge/config";
import { logCountersEvery, Registry } from "@labbridge/metrics";
import { createContext, supervise } from "@labbridge/runtime";
import { createObjectStorage } from "@labbridge/storage";
import { loadNativeUws } from "@labbridge/uws";
import type { ApiContext } from "./api_context.ts";
import { startApiServer } from "./api_server.ts";

const config = loadConfig();
const base = createContext("api", config);
let uws;
try {
  uws = loadNativeUws();
} catch (err) {
  base.log.fatal({ err: (err as Error).message }, "api cannot start");
  process.exit(1);
}
if (!config.adminToken) base.log.warn("LB_ADMIN_TOKEN is not set: no admin can call the API until it is");

const registry = new Registry();
const ctx: ApiContext = {
  ...base,
  storage: createObjectStorage(config.storage),
  metrics: {
    registry,
    received: registry.counter("lb_api_http_received_bytes_total", "Bytes received in HTTP requests (headers and bodies)"),
    sent: registry.counter("lb_api_http_sent_bytes_total", "Bytes sent in HTTP responses"),
    requests: registry.counter("lb_api_http_requests_total", "HTTP requests by method"),
  },
};

const server = await startApiServer(ctx, uws);
const stopCounterLog = logCountersEvery(config.metricsLogSeconds, (f, m) => ctx.log.info(f, m), [ctx.metrics.received, ctx.metrics.sent]);
supervise(ctx.log, [], [() => server.close(), stopCounterLog, base.close]);
ctx.log.info({ port: server.port, url: `http://127.0.0.1:${server.port}`, prefix: config.prefix }, "api listening");

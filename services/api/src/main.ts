// The API process: the HTTP contract of API.md on uWebSockets.js. Writes jobs to MySQL
// and commands to streams; never touches file bytes.
import { loadConfig } from "@labbridge/config";
import { createLogger } from "@labbridge/logging";
import { startUntilSignal } from "@labbridge/runtime";
import { startApi } from "./start_api.ts";

const config = loadConfig();
const log = createLogger("api", config.logLevel);
try {
  await startUntilSignal(log, () => startApi(config, { log }));
} catch (err) {
  log.fatal({ err: (err as Error).message }, "api cannot start");
  process.exit(1);
}

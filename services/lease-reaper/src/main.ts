// The lease-reaper process: fails or re-queues attempts whose lease expired and marks
// silent agents OFFLINE. Every move is fenced, so several reapers may race safely.
import { loadConfig } from "@labbridge/config";
import { createLogger } from "@labbridge/logging";
import { stopOnSignals } from "@labbridge/runtime";
import { startReaper } from "./start_reaper.ts";

const config = loadConfig();
const log = createLogger("lease-reaper", config.logLevel);
const reaper = startReaper(config, { log });
stopOnSignals(log, reaper.close);

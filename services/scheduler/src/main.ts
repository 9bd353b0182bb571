// The scheduler process: owns the job state machine. Run several; they share one
// consumer group, and every transition is fenced.
import { loadConfig } from "@labbridge/config";
import { createLogger } from "@labbridge/logging";
import { stopOnSignals } from "@labbridge/runtime";
import { startScheduler } from "./start_scheduler.ts";

const config = loadConfig();
const log = createLogger("scheduler", config.logLevel);
const scheduler = startScheduler(config, { log });
stopOnSignals(log, scheduler.close);

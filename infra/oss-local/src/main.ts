import { resolve } from "node:path";
import { type OssLocalLogger, startOssLocal } from "./server.ts";

// `npm run oss-local` runs this from infra/oss-local; npm puts the directory it was started
// in into INIT_CWD, so relative data directories land where the developer expects.
const baseDir = process.env.INIT_CWD ?? process.cwd();

function env(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : value;
}

function port(): number {
  const raw = env("LB_OSS_PORT", "9000");
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 65535) {
    throw new Error(`Invalid LB_OSS_PORT ${JSON.stringify(raw)}: must be a port number from 0 to 65535`);
  }
  return value;
}

function line(level: string, fields: Record<string, unknown>, msg: string): void {
  process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

const logger: OssLocalLogger = {
  info: (fields, msg) => line("info", fields, msg),
  warn: (fields, msg) => line("warn", fields, msg),
};

const bucket = env("LB_OSS_BUCKET", "labbridge");
const dataDir = resolve(baseDir, env("LB_OSS_DATA_DIR", ".lb/oss"));
const store = await startOssLocal({
  port: port(),
  dataDir,
  bucket,
  accessKeyId: env("LB_OSS_ACCESS_KEY_ID", "lb-dev-access-key"),
  accessKeySecret: env("LB_OSS_ACCESS_KEY_SECRET", "lb-dev-secret"),
  logger,
});
process.stdout.write(`${JSON.stringify({ msg: "oss-local listening", url: store.url, bucket, dataDir })}\n`);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    store.close().then(
      () => process.exit(0),
      (error: unknown) => {
        line("warn", { error: String(error) }, "oss-local did not close cleanly");
        process.exit(1);
      },
    );
  });
}

// `npm run dev`: the local object store and the four services against Redis and MySQL,
// creating the database if missing. Each prefix keeps its objects in .lb/dev/<prefix>/ and
// each run its logs in .lb/dev/<prefix>/logs/<time>/, so runs never mix lines. The admin
// token is written to a 0600 file rather than printed. Ctrl-C stops everything.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { loadConfig } from "@labbridge/config";
import { Bridge, ROOT } from "@labbridge/devstack";
import { migrate } from "@labbridge/store";

const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (k.startsWith("LB_") && v !== undefined) env[k] = v;
const generatedToken = !env.LB_ADMIN_TOKEN;
env.LB_ADMIN_TOKEN ??= `dev-${randomBytes(12).toString("hex")}`;
const config = loadConfig(env);
env.LB_API_PORT = String(config.apiPort);
env.LB_GATEWAY_PORT = String(config.gatewayPort);

const applied = await migrate(config.mysqlUrl);
const workDir = join(ROOT, ".lb", "dev", config.prefix);
const runStamp = new Date().toISOString().replace(/[:.]/g, "-");
const logDir = join(workDir, "logs", runStamp);
const bridge = await Bridge.start({ env, workDir, logDir, ossPort: Number(env.LB_OSS_PORT ?? 9000) });
// `logs/latest` always names this run's folder.
const latest = join(workDir, "logs", "latest");
try {
  unlinkSync(latest);
} catch {
  // First run: nothing to replace.
}
symlinkSync(runStamp, latest);
// The token goes to a file only this user can read: nothing prints it, so no terminal
// scroll-back, CI log or `npm run` echo holds it.
const tokenFile = join(workDir, "admin-token");
mkdirSync(workDir, { recursive: true });
writeFileSync(tokenFile, `${env.LB_ADMIN_TOKEN}\n`, { mode: 0o600 });
chmodSync(tokenFile, 0o600);
const rel = (p: string) => relative(process.cwd(), p) || ".";

console.log(`
LabBridge is up (prefix "${config.prefix}", database "${new URL(config.mysqlUrl).pathname.slice(1)}", migrations applied: ${applied.length ? applied.join(", ") : "none new"})
  API       ${bridge.apiUrl}        (try: curl ${bridge.apiUrl}/readyz)
  dashboard ${bridge.apiUrl}/       (sign in with the admin token)
  gateway   ${bridge.gatewayUrl}   (agents connect here)
  object    ${bridge.ossUrl}        (objects in ${rel(join(workDir, "oss"))})
  admin     token in ${rel(tokenFile)} (${generatedToken ? "generated; set LB_ADMIN_TOKEN to choose one" : "LB_ADMIN_TOKEN from your environment"})
  logs      ${rel(logDir)}   (also ${rel(latest)})

Log in and enroll an agent (no token on any command line):
  npx lb login --server ${bridge.apiUrl} --token-stdin < ${rel(tokenFile)}
  LB_ENROLL_TOKEN=$(npx lb enroll-token) npm run agent -- enroll --server ${bridge.gatewayUrl} --state-dir .lb/agent
  npm run agent -- run --state-dir .lb/agent
Then: npx lb submit --follow -- sh -c 'echo hi > $LB_OUTPUT_DIR/hi.txt'
Ctrl-C stops everything.`);

let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping…");
    void bridge.stop().then(() => process.exit(0));
  });
}
for (const [name, child] of bridge.children) {
  void child.exited.then(({ code, signal }) => {
    if (!stopping) console.error(`${name} exited (code ${code}, signal ${signal}); see ${join(logDir, `${name}.log`)}`);
  });
}

// `npm run dev`: the local object store and the four services against Redis and MySQL,
// creating the database if missing. Ctrl-C stops everything.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { loadConfig } from "@labbridge/config";
import { migrate } from "@labbridge/store";
import { Bridge, ROOT } from "../test/harness/bridge.ts";

const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (k.startsWith("LB_") && v !== undefined) env[k] = v;
const generatedToken = !env.LB_ADMIN_TOKEN;
env.LB_ADMIN_TOKEN ??= `dev-${randomBytes(12).toString("hex")}`;
const config = loadConfig(env);
env.LB_API_PORT = String(config.apiPort);
env.LB_GATEWAY_PORT = String(config.gatewayPort);

const applied = await migrate(config.mysqlUrl);
const workDir = join(ROOT, ".lb", "dev");
const bridge = await Bridge.start({ env, workDir, ossPort: Number(env.LB_OSS_PORT ?? 9000) });

console.log(`
LabBridge is up (prefix "${config.prefix}", database "${new URL(config.mysqlUrl).pathname.slice(1)}", migrations applied: ${applied.length ? applied.join(", ") : "none new"})
  API       ${bridge.apiUrl}        (try: curl ${bridge.apiUrl}/readyz)
  dashboard ${bridge.apiUrl}/       (sign in with the admin token)
  gateway   ${bridge.gatewayUrl}   (agents connect here)
  object    ${bridge.ossUrl}
  admin     ${generatedToken ? `${env.LB_ADMIN_TOKEN}   (generated; set LB_ADMIN_TOKEN to choose one)` : "LB_ADMIN_TOKEN from your environment"}
  logs      ${join(workDir, "logs")}

Enroll an agent:
  TOKEN=$(curl -s -X POST ${bridge.apiUrl}/v1/enrollment-tokens -H "Authorization: Bearer $LB_ADMIN_TOKEN" -d '{}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
  npm run agent -- enroll --server ${bridge.gatewayUrl} --token "$TOKEN" --state-dir .lb/agent
  npm run agent -- run --state-dir .lb/agent
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
    if (!stopping) console.error(`${name} exited (code ${code}, signal ${signal}); see ${join(workDir, "logs", `${name}.log`)}`);
  });
}

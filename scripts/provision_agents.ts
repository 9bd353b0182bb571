// `npm run agents:provision -- --count N [--out creds.json] [--prefix lab] [--os windows]
//  [--labels gpu=4090,room=b2] [--slots 1]`: creates N agents with their credentials in the
// MySQL of LB_MYSQL_URL, in bulk, and writes the credentials (in clear, the only time they
// exist so) to --out as `[{"agent_id", "name", "credential"}, …]`: the form the k6
// scenarios (loadtest/k6/) and the connection bench read. Keep that file like a password.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig } from "@labbridge/config";
import { createPool, normalizeAgentOs, provisionAgents } from "@labbridge/store";

const { values: a } = parseArgs({
  options: {
    count: { type: "string" },
    out: { type: "string", default: "creds.json" },
    prefix: { type: "string", default: "agent" },
    os: { type: "string", default: "linux" },
    labels: { type: "string", default: "" },
    slots: { type: "string", default: "1" },
  },
});
const count = Number(a.count);
if (!Number.isInteger(count) || count < 1) throw new Error(`Invalid --count "${a.count ?? ""}": expected a whole number of at least 1`);
const labels = Object.fromEntries(a.labels!.split(",").filter(Boolean).map((kv) => {
  const [k, v] = kv.split("=");
  if (!k || v === undefined) throw new Error(`Invalid label "${kv}": expected key=value`);
  return [k, v];
}));
const pool = createPool(loadConfig().mysqlUrl);
try {
  const started = performance.now();
  const agents = await provisionAgents(pool, { count, namePrefix: a.prefix!, os: normalizeAgentOs(a.os!), labels, slots: Number(a.slots), now: new Date() });
  writeFileSync(a.out!, JSON.stringify(agents.map((x) => ({ agent_id: x.agentId, name: x.name, credential: x.credential }))) + "\n", { mode: 0o600 });
  process.stderr.write(`provisioned ${count} agents in ${Math.round(performance.now() - started)} ms; credentials in ${a.out}\n`);
} finally {
  await pool.end();
}

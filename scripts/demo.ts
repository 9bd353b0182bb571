// `npm run demo`: brings the whole bridge up on this machine (object store, four services,
// one Deno agent), runs one job with an input to SUCCEEDED, prints its output keys and
// content, and takes everything down again. Uses its own prefix and database.
import { createHash } from "node:crypto";
import { Bridge, createTestEnv, waitFor } from "@labbridge/devstack";

const step = (msg: string) => console.log(`\n==> ${msg}`);
const env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "30", LB_HEARTBEAT_SECONDS: "5", LB_LOG_LEVEL: "info" }, "lbdemo");
let bridge: Bridge | null = null;
let failed = false;
try {
  step(`Starting the object store and the four services (prefix ${env.config.prefix})`);
  bridge = await Bridge.start({ env: env.env });
  console.log(`API ${bridge.apiUrl}, gateway ${bridge.gatewayUrl}, object store ${bridge.ossUrl}`);

  step("Enrolling a Deno agent and starting it");
  const agent = await bridge.startAgent({ name: "demo-workstation", labels: { lab: "demo" } });
  await waitFor(async () => (await bridge!.api("GET", `/v1/agents/${agent.agentId}`)).body?.status === "ONLINE", 30_000, "agent ONLINE");
  console.log(`agent ${agent.agentId} ONLINE after ${((Date.now() - agent.startedAt) / 1000).toFixed(1)} s`);

  step("Uploading an input straight to the object store (presigned PUT)");
  const input = Buffer.from("LabBridge moves files through object storage, never through the cloud box.\n");
  const upload = await bridge.api("POST", "/v1/uploads", { name: "notes.txt", size: input.length, sha256: createHash("sha256").update(input).digest("hex") });
  const put = await fetch(upload.body!.url, { method: "PUT", headers: upload.body!.headers, body: new Uint8Array(input) });
  if (!put.ok) throw new Error(`Upload failed: HTTP ${put.status}`);
  console.log(`uploaded ${input.length} bytes as ${upload.body!.key}`);

  step("Submitting a job");
  const created = await bridge.api("POST", "/v1/jobs", {
    name: "demo-wordcount",
    command: ["sh", "-c", 'wc -w < "$LB_INPUT_DIR/notes.txt" > "$LB_OUTPUT_DIR/words.txt"; mkdir -p "$LB_OUTPUT_DIR/report"; echo "job $LB_JOB_ID attempt $LB_ATTEMPT_ID" > "$LB_OUTPUT_DIR/report/ids.txt"'],
    inputs: [{ key: upload.body!.key, path: "notes.txt" }],
  });
  if (created.status !== 201) throw new Error(`Job not created: ${JSON.stringify(created.body)}`);
  console.log(`job ${created.body!.id} ${created.body!.state}`);
  const job = await bridge.waitForJob(created.body!.id, ["SUCCEEDED", "FAILED", "CANCELED"], 60_000);
  console.log(`job ${job.id} ${job.state}: ${job.history.map((h: { state: string }) => h.state).join(" -> ")}`);
  if (job.state !== "SUCCEEDED") throw new Error(`Job ended ${job.state}: ${JSON.stringify(job.attempts)}`);

  step("Outputs (downloaded through presigned GET URLs)");
  const outputs = (await bridge.api("GET", `/v1/jobs/${job.id}/outputs`)).body!.items as { key: string; size: number; url: string }[];
  for (const o of outputs) {
    const text = await (await fetch(o.url)).text();
    console.log(`${o.key}  (${o.size} bytes): ${text.trim()}`);
  }
  const gw = await bridge.metric(bridge.gatewayUrl, "lb_gateway_ws_received_bytes_total");
  console.log(`\ngateway received ${gw} bytes over WebSocket in total: control messages only.`);
} catch (err) {
  failed = true;
  console.error(`\ndemo failed: ${(err as Error).message}`);
  if (bridge) console.error(`logs: ${bridge.workDir}/logs (kept)`);
} finally {
  if (bridge && !failed) await bridge.stop();
  else if (bridge) for (const c of bridge.children.values()) await c.stop();
  await env.cleanup();
}
process.exit(failed ? 1 : 0);

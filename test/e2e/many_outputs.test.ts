// Jobs that write many files, on real processes (object store, the four services, a Deno
// agent): every output is presigned in batches that fit a frame, reported in chunks, and
// listed by the API with a working download URL. Also the finding that started it: 150
// checkpoint-like files once made a presign answer of 70 KB that the agent ignored.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge, type AgentHandle } from "../harness/bridge.ts";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

let env: TestEnv;
let bridge: Bridge;
let agent: AgentHandle;

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

type Output = { path: string; key: string; size: number; sha256: string; url: string };

beforeAll(async () => {
  env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "4", LB_HEARTBEAT_SECONDS: "1", LB_LOG_LEVEL: "info" });
  bridge = await Bridge.start({ env: env.env });
  agent = await bridge.startAgent({ name: "ws-many-outputs" });
});

afterAll(async () => {
  await bridge?.stop();
  await env?.cleanup();
});

/** A job command writing `n` files `<dir>/epoch-<e>/shard-<i>-of-<n>.safetensors` (100 per folder), each holding "shard <i>". */
function shardsJob(n: number, dir: string): string[] {
  const width = String(n).length;
  const name = `sprintf("%s/${dir}/epoch-%04d", ENVIRON["LB_OUTPUT_DIR"], int(i / 100))`;
  return ["awk", [
    "BEGIN {",
    `  for (i = 0; i < ${n}; i++) {`,
    `    d = ${name}`,
    '    if (i % 100 == 0) system("mkdir -p \\"" d "\\"")',
    `    f = sprintf("%s/shard-%0${width}d-of-${n}.safetensors", d, i)`,
    '    printf "shard %d", i > f',
    "    close(f)",
    "  }",
    "}",
  ].join("\n")];
}

const shardPath = (n: number, dir: string, i: number) =>
  `${dir}/epoch-${String(Math.floor(i / 100)).padStart(4, "0")}/shard-${String(i).padStart(String(n).length, "0")}-of-${n}.safetensors`;

/** Waits for the job to end, polling gently: a job view lists every output, and there are thousands. */
async function ended(jobId: string, timeoutMs: number): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await bridge.api("GET", `/v1/jobs/${jobId}`)).body!;
    if (["SUCCEEDED", "FAILED", "CANCELED"].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function runShards(n: number, dir: string, timeoutMs: number) {
  const created = await bridge.api("POST", "/v1/jobs", { name: `shards-${n}`, command: shardsJob(n, dir) });
  expect(created.status).toBe(201);
  return ended(created.body!.id, timeoutMs);
}

/** Downloads a sample of outputs and checks each against the listing and the bytes the job wrote. */
async function checkSample(items: Output[], n: number, dir: string, sample: number[]): Promise<void> {
  const byPath = new Map(items.map((o) => [o.path, o]));
  for (const i of sample) {
    const o = byPath.get(shardPath(n, dir, i))!;
    expect(o, `output ${i}`).toBeDefined();
    const bytes = Buffer.from(await (await fetch(o.url)).arrayBuffer());
    expect(bytes.toString()).toBe(`shard ${i}`);
    expect(sha256(bytes)).toBe(o.sha256);
    expect(o.sha256).toBe(sha256(`shard ${i}`));
  }
}

describe("jobs with many outputs", () => {
  it("a job writing 150 checkpoint-like files succeeds with all 150 listed (once a 70 KB presign answer, and FAILED)", async () => {
    const job = await runShards(150, "checkpoints/run-resnet50", 60_000);
    expect([job.state, job.attempts[0].error]).toEqual(["SUCCEEDED", null]);
    const items = (await bridge.api("GET", `/v1/jobs/${job.id}/outputs`)).body!.items as Output[];
    expect(items).toHaveLength(150);
    await checkSample(items, 150, "checkpoints/run-resnet50", [0, 77, 149]);
  });

  it("a job writing 10,000 files in subfolders succeeds with every one listed and downloadable, at under 200 control bytes per output", async () => {
    const metric = (name: string) => bridge.metric(bridge.gatewayUrl, name);
    const before = { in: await metric("lb_gateway_ws_received_bytes_total"), out: await metric("lb_gateway_ws_sent_bytes_total") };
    const started = Date.now();
    const n = 10_000;
    const dir = "ckpt/run-2026-12-01-llama-lora-r16";
    const job = await runShards(n, dir, 110_000);
    const seconds = (Date.now() - started) / 1000;
    expect([job.state, job.attempts[0].error]).toEqual(["SUCCEEDED", null]);
    const delta = {
      in: (await metric("lb_gateway_ws_received_bytes_total")) - before.in,
      out: (await metric("lb_gateway_ws_sent_bytes_total")) - before.out,
    };

    const listed = Date.now();
    const res = await bridge.api("GET", `/v1/jobs/${job.id}/outputs`);
    expect(res.status).toBe(200);
    const items = res.body!.items as Output[];
    expect(items).toHaveLength(n);
    expect(new Set(items.map((o) => o.path)).size).toBe(n);
    const attemptId = job.attempts[0].id as string;
    for (const o of items) expect(o.key).toBe(`jobs/${job.id}/${attemptId}/outputs/${o.path}`);
    const listSeconds = (Date.now() - listed) / 1000;
    await checkSample(items, n, dir, [0, 1, 99, 100, 4321, 5000, 9998, 9999]);

    // The same list in pages of 500, by path.
    const paged: Output[] = [];
    let cursor: string | null = null;
    do {
      const page = await bridge.api("GET", `/v1/jobs/${job.id}/outputs?limit=500${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body!.items.length).toBeLessThanOrEqual(500);
      paged.push(...(page.body!.items as Output[]));
      cursor = page.body!.next_cursor as string | null;
    } while (cursor);
    expect(paged.map((o) => o.path)).toEqual(items.map((o) => o.path).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect((await bridge.api("GET", `/v1/jobs/${job.id}/outputs?cursor=not-ours`)).status).toBe(422);

    const perOutput = { in: delta.in / n, out: delta.out / n, both: (delta.in + delta.out) / n };
    // The agent's own log lines for this attempt: how long uploads and the report took.
    const lines = agent.child.lines.flatMap((l) => {
      try {
        const j = JSON.parse(l) as { msg: string; time: string; attempt_id?: string };
        return j.attempt_id === attemptId ? [j] : [];
      } catch {
        return [];
      }
    });
    const at = (msg: string) => Date.parse(lines.find((l) => l.msg === msg)?.time ?? "");
    const batches = lines.filter((l) => l.msg === "batch uploaded").length;
    console.log(
      `[many outputs] ${batches} presign batches, uploads ${((at("attempt finished") - at("process exited")) / 1000).toFixed(1)} s; ` +
        `report (chunks + finished) ${((at("attempt reported") - at("attempt finished")) / 1000).toFixed(2)} s`,
    );
    console.log(
      `[many outputs] ${n} outputs (paths of ${shardPath(n, dir, 0).length} chars): job done in ${seconds.toFixed(1)} s; ` +
        `gateway frames ${delta.in} B in + ${delta.out} B out = ${perOutput.both.toFixed(0)} B per output ` +
        `(${perOutput.in.toFixed(0)} in, ${perOutput.out.toFixed(0)} out); outputs listing ${(res.headers.get("content-length") ?? "?")} B in ${listSeconds.toFixed(1)} s`,
    );
    // Deflated frames (decision 0014): measured 92 B at 78-character paths, 669 B as text.
    expect(perOutput.both).toBeLessThan(200);
  });
});

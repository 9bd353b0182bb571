// The mission's acceptance criteria, on real processes: the object store, the four
// services and Deno agents, against real Redis and MariaDB.
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Bridge, type AgentHandle } from "../harness/bridge.ts";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

let env: TestEnv;
let bridge: Bridge;
let agent: AgentHandle;

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function upload(name: string, bytes: Buffer): Promise<string> {
  const res = await bridge.api("POST", "/v1/uploads", { name, size: bytes.length, sha256: sha256(bytes) });
  expect(res.status).toBe(201);
  const put = await fetch(res.body!.url, { method: "PUT", headers: res.body!.headers, body: new Uint8Array(bytes) });
  expect(put.status).toBe(200);
  return res.body!.key as string;
}

async function agentStatus(agentId: string): Promise<string | undefined> {
  const res = await bridge.api("GET", `/v1/agents/${agentId}`);
  return res.body?.status as string | undefined;
}

beforeAll(async () => {
  env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "4", LB_HEARTBEAT_SECONDS: "1", LB_LOG_LEVEL: "info" });
  bridge = await Bridge.start({ env: env.env });
});

afterAll(async () => {
  await bridge?.stop();
  await env?.cleanup();
});

describe("the bridge end to end", () => {
  it("A: an agent shows ONLINE within 30 s of starting", async () => {
    agent = await bridge.startAgent({ name: "ws-b201-07", labels: { lab: "b201" } });
    await waitFor(async () => (await agentStatus(agent.agentId)) === "ONLINE", 30_000, "agent ONLINE");
    const seconds = (Date.now() - agent.startedAt) / 1000;
    console.log(`[A] agent ONLINE ${seconds.toFixed(2)} s after \`agent run\` started`);
    expect(seconds).toBeLessThan(30);
    const view = (await bridge.api("GET", `/v1/agents/${agent.agentId}`)).body!;
    expect(view.labels).toEqual({ lab: "b201" });
    expect(view.os).toBe("linux");
  });

  it("B: a job's input is downloaded from the store, run, and its outputs uploaded under job and attempt ids", async () => {
    const key = await upload("data.txt", Buffer.from("hello lab\n"));
    const created = await bridge.api("POST", "/v1/jobs", {
      name: "uppercase",
      command: ["sh", "-c", 'tr a-z A-Z < "$LB_INPUT_DIR/in/data.txt" > "$LB_OUTPUT_DIR/result.txt"; mkdir -p "$LB_OUTPUT_DIR/sub"; echo "$LB_JOB_ID $LB_ATTEMPT_ID" > "$LB_OUTPUT_DIR/sub/ids.txt"'],
      inputs: [{ key, path: "in/data.txt" }],
    });
    expect(created.status).toBe(201);
    const job = await bridge.waitForJob(created.body!.id, ["SUCCEEDED", "FAILED", "CANCELED"]);
    expect(job.state).toBe("SUCCEEDED");
    const attemptId = job.attempts[0].id as string;
    expect(job.history.map((h: { state: string }) => h.state)).toEqual(["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED"]);
    expect(job.outputs.map((o: { path: string }) => o.path).sort()).toEqual(["result.txt", "sub/ids.txt"]);
    for (const o of job.outputs) expect(o.key).toBe(`jobs/${job.id}/${attemptId}/outputs/${o.path}`);

    const outputs = await bridge.api("GET", `/v1/jobs/${job.id}/outputs`);
    const byPath = Object.fromEntries(outputs.body!.items.map((i: { path: string; url: string }) => [i.path, i.url]));
    expect(await (await fetch(byPath["result.txt"])).text()).toBe("HELLO LAB\n");
    expect(await (await fetch(byPath["sub/ids.txt"])).text()).toBe(`${job.id} ${attemptId}\n`);
  });

  it("C: multi-megabyte inputs and outputs move through the store while the gateway and API counters grow by a few KB", async () => {
    const before = {
      gwIn: await bridge.metric(bridge.gatewayUrl, "lb_gateway_ws_received_bytes_total"),
      gwOut: await bridge.metric(bridge.gatewayUrl, "lb_gateway_ws_sent_bytes_total"),
      apiIn: await bridge.metric(bridge.apiUrl, "lb_api_http_received_bytes_total"),
      apiOut: await bridge.metric(bridge.apiUrl, "lb_api_http_sent_bytes_total"),
    };
    const input = randomBytes(8 * 1024 * 1024);
    const key = await upload("big.bin", input);
    const created = await bridge.api("POST", "/v1/jobs", {
      command: ["sh", "-c", 'cp "$LB_INPUT_DIR/big.bin" "$LB_OUTPUT_DIR/copy.bin"; head -c 6000000 /dev/urandom > "$LB_OUTPUT_DIR/noise.bin"'],
      inputs: [{ key, path: "big.bin" }],
    });
    const job = await bridge.waitForJob(created.body!.id, ["SUCCEEDED", "FAILED"]);
    expect(job.state).toBe("SUCCEEDED");
    const outputs = (await bridge.api("GET", `/v1/jobs/${job.id}/outputs`)).body!.items as { path: string; url: string; size: number; sha256: string }[];
    const copy = outputs.find((o) => o.path === "copy.bin")!;
    const downloaded = Buffer.from(await (await fetch(copy.url)).arrayBuffer());
    expect(sha256(downloaded)).toBe(sha256(input));
    expect(copy.sha256).toBe(sha256(input));

    const delta = {
      gwIn: (await bridge.metric(bridge.gatewayUrl, "lb_gateway_ws_received_bytes_total")) - before.gwIn,
      gwOut: (await bridge.metric(bridge.gatewayUrl, "lb_gateway_ws_sent_bytes_total")) - before.gwOut,
      apiIn: (await bridge.metric(bridge.apiUrl, "lb_api_http_received_bytes_total")) - before.apiIn,
      apiOut: (await bridge.metric(bridge.apiUrl, "lb_api_http_sent_bytes_total")) - before.apiOut,
    };
    const moved = input.length + 8 * 1024 * 1024 + 6_000_000;
    console.log(`[C] ${(moved / 1e6).toFixed(1)} MB moved through the store; counter growth in bytes: ${JSON.stringify(delta)}`);
    for (const v of Object.values(delta)) expect(v).toBeLessThan(64 * 1024);
  });

  it("GET /v1/jobs/{id}/events streams the job's state changes and progress lines until it ends", async () => {
    const created = await bridge.api("POST", "/v1/jobs", { command: ["sh", "-c", "echo epoch 1/2; sleep 6; echo epoch 2/2; sleep 1"] });
    const res = await fetch(`${bridge.apiUrl}/v1/jobs/${created.body!.id}/events`, { headers: { authorization: `Bearer ${env.config.adminToken}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
    const events = text.split("\n\n").filter((e) => e.startsWith("event:")).map((e) => ({
      event: /^event: (.*)$/m.exec(e)![1],
      data: JSON.parse(/^data: (.*)$/m.exec(e)![1]!),
    }));
    expect(events[0]).toMatchObject({ event: "job", data: { id: created.body!.id } });
    // The snapshot shows the state when the stream opened (the agent may already run it);
    // every later change arrives as a state event, ending with the final one.
    const states = [events[0]!.data.state, ...events.filter((e) => e.event === "state").map((e) => e.data.to)];
    expect(states).toContain("RUNNING");
    expect(states.at(-1)).toBe("SUCCEEDED");
    expect(events.filter((e) => e.event === "progress").map((e) => e.data.message)).toContain("epoch 1/2");
  });

  it("cancel of a running job kills its whole process tree and ends CANCELED", async () => {
    const pidFile = join(bridge.workDir, `cancel-${Date.now()}`);
    const created = await bridge.api("POST", "/v1/jobs", {
      command: ["sh", "-c", `sleep 300 & echo $! > "${pidFile}.child"; echo $$ > "${pidFile}"; wait`],
    });
    await waitFor(() => existsSync(`${pidFile}.child`) && readFileSync(`${pidFile}.child`, "utf8").trim() !== "", 30_000, "job process");
    const pids = [Number(readFileSync(pidFile, "utf8")), Number(readFileSync(`${pidFile}.child`, "utf8"))];
    expect(pids.every(alive)).toBe(true);
    const cancel = await bridge.api("POST", `/v1/jobs/${created.body!.id}/cancel`);
    expect(cancel.status).toBe(202);
    const job = await bridge.waitForJob(created.body!.id, ["CANCELED", "FAILED", "SUCCEEDED"]);
    expect(job.state).toBe("CANCELED");
    await waitFor(() => pids.every((p) => !alive(p)), 5000, "job processes gone");
    expect((await bridge.api("POST", `/v1/jobs/${job.id}/cancel`)).status).toBe(409);
  });

  it("a never-started assignment goes back to PENDING and then runs on another agent", async () => {
    const pool = { pool: `late-${env.id}` };
    // A real socket client that takes the assignment and goes silent before starting it.
    const token = (await bridge.api("POST", "/v1/enrollment-tokens", { labels: pool })).body!.token as string;
    const enrolled = await new Promise<{ agent_id: string; credential: string }>((resolve, reject) => {
      const ws = new WebSocket(`${bridge.gatewayUrl}/v1/enroll`, { headers: { authorization: `Bearer ${token}` } });
      ws.on("open", () => ws.send(JSON.stringify({ type: "enroll", name: "silent", hostname: "silent", os: "linux", labels: {} })));
      ws.on("message", (m) => resolve(JSON.parse(String(m))));
      ws.on("error", reject);
    });
    const assigned = new Promise<string>((resolve) => {
      const ws = new WebSocket(`${bridge.gatewayUrl}/v1/agent`, { headers: { authorization: `Bearer ${enrolled.credential}` } });
      ws.on("open", () => ws.send(JSON.stringify({ type: "hello", protocol: 1, agent_version: "test", os: "linux", hostname: "silent", gpus: [], running: [], restarted: false })));
      ws.on("message", (m) => {
        const msg = JSON.parse(String(m));
        if (msg.type === "attempt.assign") {
          ws.terminate();
          resolve(msg.attempt_id);
        }
      });
    });
    await waitFor(async () => (await agentStatus(enrolled.agent_id)) === "ONLINE", 10_000, "silent agent ONLINE");
    // Only the silent agent carries the label, so it is the one that gets the job first.
    const created = await bridge.api("POST", "/v1/jobs", { command: ["true"], requirements: { labels: pool } });
    const firstAttempt = await assigned;
    const requeued = await bridge.waitForJob(created.body!.id, ["PENDING"], 20_000);
    expect(requeued.attempts[0]).toMatchObject({ id: firstAttempt, state: "EXPIRED" });
    expect(requeued.history.map((h: { cause: string }) => h.cause)).toContain("lease_expired_before_start");
    // Nothing ran, so a real agent with the label may take it.
    await bridge.startAgent({ name: "late", labels: pool });
    const job = await bridge.waitForJob(created.body!.id, ["SUCCEEDED", "FAILED"], 30_000);
    expect(job.state).toBe("SUCCEEDED");
    expect(job.attempts.map((a: { state: string }) => a.state)).toEqual(["EXPIRED", "SUCCEEDED"]);
  });

  it("a SIGKILLed agent's running job is FAILED after the lease and not re-run", async () => {
    const doomed = await bridge.startAgent({ name: "doomed", labels: { role: "doomed" } });
    await waitFor(async () => (await agentStatus(doomed.agentId)) === "ONLINE", 30_000, "doomed ONLINE");
    const pidFile = join(bridge.workDir, `kill-${Date.now()}`);
    const created = await bridge.api("POST", "/v1/jobs", {
      command: ["sh", "-c", `echo $$ > "${pidFile}"; sleep 300`],
      requirements: { labels: { role: "doomed" } },
      max_attempts: 1,
    });
    await bridge.waitForJob(created.body!.id, ["RUNNING"], 30_000);
    await doomed.child.stop("SIGKILL");
    const killedAt = Date.now();
    const job = await bridge.waitForJob(created.body!.id, ["FAILED", "PENDING", "SUCCEEDED"], 30_000);
    console.log(`[kill] job FAILED ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the agent was killed (lease ${env.config.leaseTtlSeconds} s)`);
    expect(job.state).toBe("FAILED");
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts[0].error.code).toBe("lease_expired");
    expect(job.history.at(-1).cause).toBe("lease_expired");
    await waitFor(async () => (await agentStatus(doomed.agentId)) === "OFFLINE", 15_000, "doomed OFFLINE");
    // Another lease period later it is still FAILED with one attempt: nothing re-ran it.
    await new Promise((r) => setTimeout(r, env.config.leaseTtlSeconds * 1000));
    const later = (await bridge.api("GET", `/v1/jobs/${job.id}`)).body!;
    expect(later.state).toBe("FAILED");
    expect(later.attempts).toHaveLength(1);
    // The orphaned job leads its own process group (the agent starts jobs with setsid): end it all.
    process.kill(-Number(readFileSync(pidFile, "utf8")), "SIGKILL");
  });

  it("each service runs as its own process beside the others and stops cleanly on SIGTERM", async () => {
    const kinds = ["api", "gateway", "scheduler", "lease-reaper"] as const;
    const extra = await Promise.all(kinds.map((kind) => bridge.startService(kind, `${kind}-2`, { LB_GATEWAY_ID: `gw-2-${env.id}` })));
    await Promise.all(extra.map((child) => child.stop("SIGTERM", 15_000)));
    for (const child of extra) {
      expect(await child.exited, child.name).toEqual({ code: 0, signal: null });
      expect(child.lines.some((l) => l.includes('"msg":"stopped"')), child.name).toBe(true);
    }
  });

  it("bad requests get the right 4xx and a structured error", async () => {
    const cases: [string, Promise<{ status: number; body: Record<string, any> | null }>, number, string][] = [
      ["empty command", bridge.api("POST", "/v1/jobs", { command: [] }), 422, "validation_failed"],
      ["'..' in an input path", bridge.api("POST", "/v1/jobs", { command: ["true"], inputs: [{ key: "inputs/x/a", path: "../a" }] }), 422, "validation_failed"],
      ["malformed JSON", bridge.api("POST", "/v1/jobs", undefined, { raw: "{not json" }), 400, "malformed_json"],
      ["no token", bridge.api("POST", "/v1/jobs", { command: ["true"] }, { token: null }), 401, "unauthenticated"],
      ["wrong token", bridge.api("POST", "/v1/jobs", { command: ["true"] }, { token: "lbu_wrong" }), 401, "invalid_token"],
    ];
    for (const [what, call, status, code] of cases) {
      const res = await call;
      expect(res.status, what).toBe(status);
      expect(res.body?.error, what).toMatchObject({ code, message: expect.any(String), details: expect.any(Object) });
    }
  });

  it("the same Idempotency-Key gives the same job", async () => {
    const body = { command: ["echo", "once"], requirements: { labels: { lab: "nowhere" } } };
    const first = await bridge.api("POST", "/v1/jobs", body, { headers: { "idempotency-key": `k-${env.id}` } });
    const second = await bridge.api("POST", "/v1/jobs", body, { headers: { "idempotency-key": `k-${env.id}` } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body!.id).toBe(first.body!.id);
  });

  it("stream entries read well with redis-cli XRANGE", () => {
    const out = execFileSync("redis-cli", ["-u", env.config.redisUrl, "XRANGE", `${env.config.prefix}:jobs`, "-", "+", "COUNT", "1"], { encoding: "utf8" });
    const lines = out.trim().split("\n");
    expect(lines.slice(1, 7)).toEqual(["type", "job.submitted", "v", "1", "job_id", expect.stringMatching(/^job_/)]);
    expect(lines).toContain("ts");
    expect(lines).toContain("data");
    const events = execFileSync("redis-cli", ["-u", env.config.redisUrl, "XRANGE", `${env.config.prefix}:agent-events`, "-", "+", "COUNT", "1"], { encoding: "utf8" });
    expect(events).toContain("agent.online");
  });
});

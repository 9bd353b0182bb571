import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RunningApi } from "@labbridge/api";
import { MIN_PART_BYTES, type ErrorCode } from "@labbridge/protocol";
import { createObjectStorage, type ObjectStorage } from "@labbridge/storage";
import { assignJob, createEnrollmentToken, enrollAgent, finishAttempt, markAgentOnline, startAttempt } from "@labbridge/store";
import { runLb, startLb } from "../harness/lb_cli.ts";
import { startApiOnOssLocal, type ApiOnOssLocal } from "../harness/api_on_oss_local.ts";
import type { TestEnv } from "../harness/test_env.ts";

// The real `lb` process against the real API (uWebSockets.js, Redis, MariaDB) and oss-local
// checking real signatures. The part size is the store's 100 KiB minimum, so multipart and
// resuming run on files of a few MiB. Finished attempts are written through the store, as
// the scheduler would, so downloads need no agent (test/e2e/cli.test.ts runs one).

const PART = MIN_PART_BYTES;

let stack: ApiOnOssLocal;
let dir: string;
let env: TestEnv;
let api: RunningApi;
let server: string;
let storage: ObjectStorage;
/** The environment of each lb run: its own HOME and XDG folders, logged in by LB_SERVER/LB_TOKEN. */
let lbEnv: Record<string, string>;
let home: string;

beforeAll(async () => {
  stack = await startApiOnOssLocal("cli", PART);
  ({ dir, env, api, base: server } = stack);
  storage = createObjectStorage(env.config.storage);
});

afterAll(async () => {
  await stack?.close();
});

beforeEach(async () => {
  home = await mkdtemp(join(dir, "home-"));
  lbEnv = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_STATE_HOME: join(home, "state"),
    LB_SERVER: server,
    LB_TOKEN: env.config.adminToken!,
  };
});

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

async function objectSha(key: string): Promise<string> {
  return sha256((await storage.client.get(key)).content as Buffer);
}

/** A counter of the API's /metrics. */
async function apiMetric(name: string): Promise<number> {
  const text = await (await fetch(`${server}/metrics`)).text();
  return Number(text.split("\n").find((l) => l.startsWith(`${name} `))!.split(" ").pop());
}

async function apiGet(path: string) {
  const res = await fetch(`${server}${path}`, { headers: { authorization: `Bearer ${env.config.adminToken}` } });
  return res.json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe("lb login", () => {
  it("stores the server and a token read from stdin in a config file only the user can read (0600)", async () => {
    const { LB_SERVER: _s, LB_TOKEN: _t, ...bare } = lbEnv;
    const run = await runLb(["login", "--server", server, "--token-stdin", "--json"], bare, `${env.config.adminToken}\n`);
    expect(run.code, run.stderr).toBe(0);
    const path = join(home, "config", "labbridge", "config.json");
    expect(run.json.config_path).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ server, token: env.config.adminToken });
    // Logged in from the file alone, a command works.
    const ls = await runLb(["ls", "--json"], bare);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.json.items).toEqual(expect.any(Array));
  });

  it("refuses a wrong token with exit 3 and stores nothing", async () => {
    const { LB_SERVER: _s, LB_TOKEN: _t, ...bare } = lbEnv;
    const run = await runLb(["login", "--server", server, "--token-stdin"], bare, "not-a-token\n");
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^lb: /);
    await expect(stat(join(home, "config", "labbridge", "config.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("lb submit", () => {
  it("uploads a folder input straight to the store (multipart above the part size), no file byte passing the API, and submits the job with it", async () => {
    const data = join(dir, `dataset-${randomBytes(3).toString("hex")}`);
    await mkdir(join(data, "train"), { recursive: true });
    const big = randomBytes(PART * 3 + 777);
    const small = Buffer.from("label,x\n1,2\n");
    await writeFile(join(data, "train", "big.bin"), big);
    await writeFile(join(data, "labels.csv"), small);
    await writeFile(join(data, "empty.txt"), "");
    const receivedBefore = await apiMetric("lb_api_http_received_bytes_total");
    const run = await runLb(["submit", "--json", "--name", "cli-dir", "--input", data, "--gpus", "1", "--label", "lab=b201", "--", "python", "train.py", "--epochs", "3"], lbEnv);
    expect(run.code, run.stderr).toBe(0);
    // Over 300 KiB went to the store; the API saw only small JSON requests.
    expect((await apiMetric("lb_api_http_received_bytes_total")) - receivedBefore).toBeLessThan(16 * 1024);
    const { job, uploads } = run.json;
    expect(job).toMatchObject({ name: "cli-dir", state: "PENDING", command: ["python", "train.py", "--epochs", "3"], requirements: { gpus: 1, labels: { lab: "b201" } } });
    const root = data.split("/").pop();
    expect(job.inputs.map((i: { path: string }) => i.path).sort()).toEqual([`${root}/empty.txt`, `${root}/labels.csv`, `${root}/train/big.bin`]);
    const empty = job.inputs.find((i: { path: string }) => i.path.endsWith("empty.txt"));
    expect(empty.size).toBe(0);
    expect(await objectSha(empty.key)).toBe(sha256(Buffer.alloc(0)));
    const bigInput = job.inputs.find((i: { path: string }) => i.path.endsWith("big.bin"));
    expect(bigInput).toMatchObject({ size: big.length, sha256: sha256(big) });
    expect(await objectSha(bigInput.key)).toBe(sha256(big));
    const smallInput = job.inputs.find((i: { path: string }) => i.path.endsWith("labels.csv"));
    expect(await objectSha(smallInput.key)).toBe(sha256(small));
    expect(uploads.map((u: { how: string }) => u.how)).toEqual(["new", "new", "new"]);
    // The big one went in parts (4 of 100 KiB), the small one in one PUT.
    const status = await apiGet(`/v1/uploads/${uploads.find((u: { key: string }) => u.key === bigInput.key).upload_id}`);
    expect(status).toMatchObject({ state: "complete", part_size: PART });
  });

  it("an interrupted upload resumes where it stopped: the second run sends only the missing parts", async () => {
    const file = join(dir, `resume-${randomBytes(3).toString("hex")}.bin`);
    const parts = 40;
    const content = randomBytes(PART * parts);
    await writeFile(file, content);
    const first = startLb(["submit", "--parallel", "1", "--input", file, "--", "true"], lbEnv);
    await first.waitForLine((l) => /part \d+\/40 uploaded/.test(l));
    first.proc.kill("SIGKILL");
    const killed = await first.done;
    expect(killed.code).toBeNull();
    const sentFirst = (killed.stderr.match(/part \d+\/40 uploaded/g) ?? []).length;
    expect(sentFirst).toBeLessThan(parts);

    const second = await runLb(["submit", "--parallel", "1", "--input", file, "--json", "--", "true"], lbEnv);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json.uploads[0].how).toBe("resumed");
    // Every part the store held was kept; only the rest went again.
    expect(second.json.uploads[0].sent_bytes).toBeLessThanOrEqual((parts - sentFirst) * PART);
    expect(second.json.uploads[0].sent_bytes).toBeGreaterThan(0);
    expect(await objectSha(second.json.job.inputs[0].key)).toBe(sha256(content));
  });

  it("a retried submit with the same Idempotency-Key returns the first job, and the unchanged input is not sent again", async () => {
    const file = join(dir, `idem-${randomBytes(3).toString("hex")}.txt`);
    await writeFile(file, "same bytes\n");
    const key = `idem-${randomBytes(4).toString("hex")}`;
    const args = ["submit", "--json", "--name", key, "--idempotency-key", key, "--input", file, "--", "echo", "hi"];
    const first = await runLb(args, lbEnv);
    const second = await runLb(args, lbEnv);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json.job.id).toBe(first.json.job.id);
    expect(second.json.uploads[0]).toMatchObject({ how: "reused", sent_bytes: 0, key: first.json.uploads[0].key });
    const listed = await apiGet("/v1/jobs?limit=500");
    expect(listed.items.filter((j: { name: string }) => j.name === key).map((j: { id: string }) => j.id)).toEqual([first.json.job.id]);
  });

  it("prints the job id alone on stdout without --json, for JOB=$(lb submit …)", async () => {
    const run = await runLb(["submit", "--", "echo", "hi"], lbEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^job_[0-9A-Z]{26}\n$/);
  });
});

/** A job whose one attempt ran on an agent enrolled here and ended with `files` as outputs, as the scheduler would record it; `failure` makes the attempt fail. */
async function finishedJob(files: { path: string; data: Buffer; claimedSha?: string }[], failure: { exitCode: number; error: { code: ErrorCode; message: string } } | null = null) {
  const pool = api.ctx.pool;
  const now = new Date();
  const { token } = await createEnrollmentToken(pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now });
  const agent = (await enrollAgent(pool, { token, name: "ws", hostname: "ws", os: "linux", labels: {}, now }))!.agentId;
  await markAgentOnline(pool, { agentId: agent, gatewayId: "gw-x", sessionId: `ses_${agent}`, hostname: "ws", gpus: [], at: now });
  const id = (await runLb(["submit", "--", "train"], lbEnv)).stdout.trim();
  const assignment = (await assignJob(pool, { jobId: id, now, grantLease: async () => undefined }))!;
  await startAttempt(pool, { jobId: id, attemptId: assignment.attemptId, agentId: agent, now });
  const outputs = [];
  for (const f of files) {
    const key = `jobs/${id}/${assignment.attemptId}/outputs/${f.path}`;
    await storage.client.put(key, f.data);
    outputs.push({ path: f.path, key, size: f.data.length, sha256: f.claimedSha ?? sha256(f.data) });
  }
  await finishAttempt(pool, { jobId: id, attemptId: assignment.attemptId, agentId: agent, now, result: failure ? { outcome: "failed", ...failure, outputs } : { outcome: "succeeded", exitCode: 0, error: null, outputs } });
  return id;
}

describe("lb status, ls and cancel", () => {
  it("status tells a PENDING job's queue reason, ls lists it, and cancel is accepted", async () => {
    const id = (await runLb(["submit", "--name", "to-cancel", "--", "sleep", "9"], lbEnv)).stdout.trim();
    const status = await runLb(["status", id], lbEnv);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`${id} (to-cancel): PENDING`);
    expect(status.stdout).toMatch(/queue: position \d+, no_agent_\w+: /);
    const statusJson = await runLb(["status", id, "--json"], lbEnv);
    expect(statusJson.json).toMatchObject({ id, state: "PENDING", queue: { reason: expect.stringMatching(/^no_agent_/) } });

    const canceled = await runLb(["cancel", id, "--json"], lbEnv);
    expect(canceled.code, canceled.stderr).toBe(0);
    expect(canceled.json).toMatchObject({ id });
    const ls = await runLb(["ls", "--json", "--name-prefix", "to-cancel"], lbEnv);
    expect(ls.json.items.map((j: { id: string }) => j.id)).toContain(id);
  });

  // After the PENDING test: the agent enrolled here is online, which changes queue reasons.
  it("status shows a failed attempt's exit code and its error's code and message", async () => {
    const id = await finishedJob([], { exitCode: 3, error: { code: "exit_nonzero", message: "exit 3" } });
    const status = await runLb(["status", id], lbEnv);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/\n  attempt 1 att_\w+ on agt_\w+: \w+, exit 3, exit_nonzero: exit 3\n/);
  });

  it("an unknown job is exit 4 with the API's message on stderr, and as an error document with --json", async () => {
    const run = await runLb(["status", "job_00000000000000000000000000"], lbEnv);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/^lb: Job "job_00000000000000000000000000" not found \(not_found/);
    const json = await runLb(["status", "job_00000000000000000000000000", "--json"], lbEnv);
    expect(json.code).toBe(4);
    expect(json.json.error).toMatchObject({ code: "not_found", status: 404, exit_code: 4 });
  });
});

describe("exit codes", () => {
  it("1 for a request the API refuses, with the API's message", async () => {
    const run = await runLb(["submit", "--os", "plan9", "--", "true"], lbEnv);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^lb: Invalid request: requirements\.os .*\(validation_failed/);
  });

  it("2 for a usage error, 3 when not logged in or the token is refused, 6 when the server cannot be reached", async () => {
    expect((await runLb(["submit", "--gpus", "many", "--", "x"], lbEnv)).code).toBe(2);
    expect((await runLb(["frobnicate"], lbEnv)).code).toBe(2);
    const { LB_SERVER: _s, LB_TOKEN: _t, ...bare } = lbEnv;
    const notLoggedIn = await runLb(["ls"], bare);
    expect(notLoggedIn.code).toBe(3);
    expect(notLoggedIn.stderr).toContain("Not logged in");
    expect((await runLb(["ls"], { ...lbEnv, LB_TOKEN: "wrong" })).code).toBe(3);
    const away = await runLb(["ls"], { ...lbEnv, LB_SERVER: "http://127.0.0.1:9" });
    expect(away.code).toBe(6);
    expect(away.stderr).toContain("Cannot reach");
  });
});

describe("lb download", () => {
  it("downloads every output straight from the store into the folder, each checked by sha256", async () => {
    const model = randomBytes(300_000);
    const id = await finishedJob([{ path: "model.pt", data: model }, { path: "report/metrics.json", data: Buffer.from('{"acc":0.9}') }]);
    const target = join(home, "out");
    const run = await runLb(["download", id, target, "--json"], lbEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.files.map((f: { path: string }) => f.path).sort()).toEqual(["model.pt", "report/metrics.json"]);
    expect(sha256(await readFile(join(target, "model.pt")))).toBe(sha256(model));
    expect(await readFile(join(target, "report", "metrics.json"), "utf8")).toBe('{"acc":0.9}');
  });

  it("refuses an output whose bytes do not match its sha256 with exit 7 and leaves no file", async () => {
    const id = await finishedJob([{ path: "bad.bin", data: Buffer.from("tampered"), claimedSha: "0".repeat(64) }]);
    const target = join(home, "bad");
    const run = await runLb(["download", id, target], lbEnv);
    expect(run.code).toBe(7);
    expect(run.stderr).toContain('Output "bad.bin" arrived damaged');
    await expect(stat(join(target, "bad.bin"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("lb agents, pause, resume and tokens", () => {
  it("lists an enrolled agent, pauses and resumes it", async () => {
    const now = new Date();
    const { token } = await createEnrollmentToken(api.ctx.pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now });
    const agent = (await enrollAgent(api.ctx.pool, { token, name: "ws-cli", hostname: "ws-cli", os: "linux", labels: {}, now }))!.agentId;
    const listed = await runLb(["agents", "--json"], lbEnv);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json.items.map((a: { id: string }) => a.id)).toContain(agent);
    const paused = await runLb(["pause", agent, "--reason", "driver update"], lbEnv);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toBe(`${agent}: paused\n`);
    expect((await apiGet(`/v1/agents/${agent}`)).paused).toBe(true);
    expect((await runLb(["resume", agent], lbEnv)).code).toBe(0);
    expect((await apiGet(`/v1/agents/${agent}`)).paused).toBe(false);
  });

  it("enroll-token prints a one-use enrollment token alone on stdout, with its labels", async () => {
    const run = await runLb(["enroll-token", "--label", "lab=b201"], lbEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^\S{20,}\n$/);
    const json = await runLb(["enroll-token", "--json"], lbEnv);
    expect(json.json).toMatchObject({ token: expect.any(String), expires_at: expect.any(String) });
  });

  it("tokens create prints the new token alone on stdout, and it logs in", async () => {
    const created = await runLb(["tokens", "create", "--owner", "carol", "--name", "laptop"], lbEnv);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token.length).toBeGreaterThan(20);
    const ls = await runLb(["ls", "--json"], { ...lbEnv, LB_TOKEN: token });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.json.items).toEqual([]);
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLb } from "../harness/lb_cli.ts";

// `lb` against a small HTTP server on a real socket, for what the API on main cannot yet do
// on demand: `log` events in the SSE stream, GET /v1/jobs/{id}/logs (API.md), and a 503 on
// the first submit. Written against API.md, so these hold the contract, not an implementation.

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base: string;
let handler: Handler;
let home: string;
let lbEnv: Record<string, string>;

beforeEach(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  home = await mkdtemp(join(tmpdir(), "lb-fake-"));
  lbEnv = { HOME: home, XDG_CONFIG_HOME: join(home, "c"), XDG_STATE_HOME: join(home, "s"), LB_SERVER: base, LB_TOKEN: "t0ken" };
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(home, { recursive: true, force: true });
});

const job = (state: string) => ({ id: "job_1", name: null, state, attempts: [], command: ["x"] });

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

describe("lb logs", () => {
  it("-f writes log events to stdout and stderr as the job wrote them, and exits 0 when it succeeds", async () => {
    handler = (req, res) => {
      if (req.url === "/v1/jobs/job_1/events") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`event: job\ndata: ${JSON.stringify(job("RUNNING"))}\n\n`);
        res.write(": keepalive\n\n");
        res.write(`event: log\nid: 1-0\ndata: ${JSON.stringify({ stream: "stdout", line: "epoch 1 loss 0.9" })}\n\n`);
        res.write(`event: log\nid: 2-0\ndata: ${JSON.stringify({ stream: "stderr", line: "warning: slow disk" })}\n\n`);
        res.write(`event: progress\nid: 3-0\ndata: ${JSON.stringify({ message: "50%" })}\n\n`);
        res.write(`event: state\nid: 4-0\ndata: ${JSON.stringify({ from: "RUNNING", to: "SUCCEEDED" })}\n\n`);
        return res.end();
      }
      if (req.url === "/v1/jobs/job_1") return json(res, 200, job("SUCCEEDED"));
      json(res, 404, { error: { code: "not_found", message: "No route" } });
    };
    const run = await runLb(["logs", "-f", "job_1"], lbEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("epoch 1 loss 0.9\n");
    expect(run.stderr).toContain("warning: slow disk\n");
    expect(run.stderr).toContain("progress: 50%");
    expect(run.stderr).toContain("job job_1 SUCCEEDED");
  });

  it("without -f prints the latest attempt's full logs from the presigned URLs of GET /v1/jobs/{id}/logs", async () => {
    const storeAuth: (string | undefined)[] = [];
    handler = (req, res) => {
      if (req.url === "/v1/jobs/job_1/logs") {
        return json(res, 200, { items: [
          { attempt_id: "att_2", stream: "stdout", key: "k1", size: 6, url: `${base}/store/att_2/stdout`, expires_at: "x" },
          { attempt_id: "att_2", stream: "stderr", key: "k2", size: 6, url: `${base}/store/att_2/stderr`, expires_at: "x" },
          { attempt_id: "att_1", stream: "stdout", key: "k3", size: 4, url: `${base}/store/att_1/stdout`, expires_at: "x" },
        ] });
      }
      if (req.url?.startsWith("/store/")) {
        storeAuth.push(req.headers.authorization);
        res.writeHead(200);
        return res.end(`${req.url.split("/").slice(2).join(" ")}\n`);
      }
      json(res, 404, { error: { code: "not_found", message: "No route" } });
    };
    const run = await runLb(["logs", "job_1"], lbEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("att_2 stdout\n");
    expect(run.stderr).toBe("att_2 stderr\n");
    // The store's URLs carry their own signature: lb never sends its API token there.
    expect(storeAuth).toEqual([undefined, undefined]);
  });
});

describe("lb submit", () => {
  it("retries a submit the server could not take (503) with the same Idempotency-Key, making one job", async () => {
    const keys: string[] = [];
    const requestIds: string[] = [];
    handler = (req, res) => {
      if (req.url === "/v1/jobs" && req.method === "POST") {
        keys.push(String(req.headers["idempotency-key"]));
        requestIds.push(String(req.headers["x-request-id"]));
        if (keys.length === 1) return json(res, 503, { error: { code: "unavailable", message: "Try again" } }, { "retry-after": "0" });
        return json(res, 201, job("PENDING"));
      }
      json(res, 404, { error: { code: "not_found", message: "No route" } });
    };
    const run = await runLb(["submit", "--", "echo", "hi"], lbEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("job_1\n");
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[0]).toMatch(/^lb-/);
    expect(requestIds[1]).toBe(requestIds[0]);
  });

  it("prints the API's request id with its message when a request fails", async () => {
    handler = (_req, res) => json(res, 422, { error: { code: "validation_failed", message: "Invalid request: command is empty", request_id: "req_abc" } }, { "x-request-id": "req_abc" });
    const run = await runLb(["submit", "--", "x"], lbEnv);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("lb: Invalid request: command is empty (validation_failed, request id req_abc)\n");
  });
});

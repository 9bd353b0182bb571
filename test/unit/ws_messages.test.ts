import { describe, expect, it } from "vitest";
import {
  CLOSE_CODES, describeProblems, ID_PREFIX, MAX_FRAME_BYTES, MAX_OUTPUTS_PER_ATTEMPT, newId, outputsDigest, parseAgentMessage,
  parseServerMessage, PROTOCOL_VERSION, MAX_LOG_LINE_CHARS, MAX_LOG_LINES_PER_FRAME, skippedLine,
} from "@labbridge/protocol";

const att = newId(ID_PREFIX.attempt);
const sha = "a".repeat(64);

const hello = {
  type: "hello", protocol: PROTOCOL_VERSION, agent_version: "1.0.0", os: "windows", hostname: "ws-b201-07",
  gpus: [{ name: "NVIDIA GeForce RTX 4090", memory_mb: 24564 }], running: [att], restarted: false,
};

function fieldsOf(frame: unknown): string[] {
  const parsed = parseAgentMessage(typeof frame === "string" ? frame : JSON.stringify(frame));
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(frame)} to be refused`);
  return parsed.problems.map((p) => p.field);
}

function accepts(frame: unknown): boolean {
  return parseAgentMessage(JSON.stringify(frame)).ok;
}

describe("parseAgentMessage", () => {
  it("accepts a well-formed hello and returns it as sent", () => {
    const parsed = parseAgentMessage(JSON.stringify(hello));
    expect(parsed).toEqual({ ok: true, value: hello });
  });

  it("refuses text that is not JSON, and JSON that is not an object", () => {
    for (const text of ["{not json", "", "[]", "null", '"hello"', "42"]) {
      expect(parseAgentMessage(text)).toEqual({ ok: false, problems: [{ field: "", reason: "is not a JSON object" }] });
    }
  });

  it("refuses an unknown or missing type, naming it", () => {
    const parsed = parseAgentMessage(JSON.stringify({ type: "attempt.delete_everything" }));
    expect(parsed).toEqual({ ok: false, problems: [{ field: "type", reason: 'unknown message type "attempt.delete_everything"' }] });
    expect(fieldsOf({ running: [] })).toEqual(["type"]);
    // A server-only type is unknown coming from an agent.
    expect(fieldsOf({ type: "welcome" })).toEqual(["type"]);
  });

  it("refuses a hello missing its fields, listing each one", () => {
    expect(fieldsOf({ type: "hello" })).toEqual(["protocol", "agent_version", "os", "hostname", "gpus", "running", "restarted"]);
  });

  it("refuses a hello with a bad GPU list or a running id that is not an attempt id", () => {
    expect(fieldsOf({ ...hello, gpus: [{ name: "x" }] })).toEqual(["gpus"]);
    expect(fieldsOf({ ...hello, gpus: [{ name: "x", memory_mb: -1 }] })).toEqual(["gpus"]);
    expect(fieldsOf({ ...hello, running: ["job_01"] })).toEqual(["running"]);
    expect(fieldsOf({ ...hello, running: [newId(ID_PREFIX.job)] })).toEqual(["running"]);
    expect(fieldsOf({ ...hello, os: "x".repeat(33) })).toEqual(["os"]);
  });

  it("accepts a hello with full GPU readings and a host reading, and refuses out-of-range readings", () => {
    const gpu = {
      index: 0, uuid: "GPU-5a1b2c3d", name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, memory_used_mb: 812,
      utilization_percent: 3, temperature_c: 41, other_processes: { count: 1, memory_mb: null },
    };
    const full = { ...hello, gpus: [gpu], host: [12, 65536, 20000, 400000] };
    expect(parseAgentMessage(JSON.stringify(full))).toEqual({ ok: true, value: full });
    expect(fieldsOf({ ...full, gpus: [{ ...gpu, utilization_percent: 101 }] })).toEqual(["gpus"]);
    expect(fieldsOf({ ...full, gpus: [{ ...gpu, other_processes: { count: -1, memory_mb: 0 } }] })).toEqual(["gpus"]);
    expect(fieldsOf({ ...full, gpus: Array.from({ length: 17 }, (_, i) => ({ ...gpu, index: i })) })).toEqual(["gpus"]);
    expect(fieldsOf({ ...full, host: [12, 1, 2] })).toEqual(["host"]);
  });

  it("accepts a heartbeat with compact GPU and host readings and refuses malformed ones", () => {
    expect(accepts({ type: "heartbeat", running: [], g: [[0, 812, 3, 41, 0, null]], h: [5, 65536, 20000, 400000] })).toBe(true);
    expect(accepts({ type: "heartbeat", running: [], gpus: [{ index: 1, name: "NVIDIA H100", memory_mb: 81559 }] })).toBe(true);
    expect(fieldsOf({ type: "heartbeat", running: [], g: [[0, 812, 3, 41, 0]] })).toEqual(["g"]);
    expect(fieldsOf({ type: "heartbeat", running: [], g: [[0, 812, 300, 41, 0, 0]] })).toEqual(["g"]);
    expect(fieldsOf({ type: "heartbeat", running: [], h: [101, 1, 1, 1] })).toEqual(["h"]);
    expect(fieldsOf({ type: "heartbeat", running: [], gpus: [{ name: "x" }] })).toEqual(["gpus"]);
  });

  it("checks heartbeat, start request and progress fields", () => {
    expect(accepts({ type: "heartbeat", running: [att] })).toBe(true);
    expect(fieldsOf({ type: "heartbeat", running: "att" })).toEqual(["running"]);
    expect(accepts({ type: "attempt.start_request", attempt_id: att })).toBe(true);
    expect(fieldsOf({ type: "attempt.start_request", attempt_id: "att_../../x" })).toEqual(["attempt_id"]);
    expect(accepts({ type: "attempt.progress", attempt_id: att, message: "epoch 1/3" })).toBe(true);
    expect(fieldsOf({ type: "attempt.progress", attempt_id: att, message: "x".repeat(1025) })).toEqual(["message"]);
  });

  it("accepts a live log frame with lines per stream and skipped counts, and refuses too many lines, too long a line or odd counts", () => {
    expect(accepts({ type: "attempt.log", attempt_id: att, stdout: ["a", "… 2 lines skipped"], stderr: ["b"], skipped: { stdout: 2 } })).toBe(true);
    expect(accepts({ type: "attempt.log", attempt_id: att, stderr: [""] })).toBe(true);
    expect(fieldsOf({ type: "attempt.log", attempt_id: att, stdout: Array.from({ length: MAX_LOG_LINES_PER_FRAME + 1 }, () => "x") })).toEqual(["stdout"]);
    expect(fieldsOf({ type: "attempt.log", attempt_id: att, stderr: ["x".repeat(MAX_LOG_LINE_CHARS + 1)] })).toEqual(["stderr"]);
    expect(fieldsOf({ type: "attempt.log", attempt_id: att, stdout: "one line" })).toEqual(["stdout"]);
    expect(fieldsOf({ type: "attempt.log", attempt_id: att, skipped: { stdout: -1 } })).toEqual(["skipped"]);
    expect(fieldsOf({ type: "attempt.log", attempt_id: att, skipped: { other: 1 } })).toEqual(["skipped"]);
    expect(fieldsOf({ type: "attempt.log", attempt_id: "job_x", stdout: [] })).toEqual(["attempt_id"]);
    expect(skippedLine(1)).toBe("… 1 line skipped");
    expect(skippedLine(95)).toBe("… 95 lines skipped");
  });

  it("accepts a finished report with outputs and refuses bad outcomes, errors and outputs", () => {
    const finished = {
      type: "attempt.finished", attempt_id: att, outcome: "succeeded", exit_code: 0, error: null,
      outputs: [{ path: "model.pt", key: `jobs/job_x/${att}/outputs/model.pt`, size: 10, sha256: sha }],
    };
    expect(accepts(finished)).toBe(true);
    expect(accepts({ ...finished, outcome: "failed", exit_code: 1, error: { code: "exit_nonzero", message: "exit 1" } })).toBe(true);
    expect(fieldsOf({ ...finished, outcome: "won" })).toEqual(["outcome"]);
    expect(fieldsOf({ ...finished, exit_code: 1.5 })).toEqual(["exit_code"]);
    expect(fieldsOf({ ...finished, error: { code: "made_up", message: "x" } })).toEqual(["error"]);
    expect(fieldsOf({ ...finished, outputs: [{ ...finished.outputs[0], path: "../escape" }] })).toEqual(["outputs[0]"]);
    expect(fieldsOf({ ...finished, outputs: [{ ...finished.outputs[0], sha256: "ABC" }] })).toEqual(["outputs[0].sha256"]);
    expect(fieldsOf({ ...finished, outputs: [{ ...finished.outputs[0], size: -1 }] })).toEqual(["outputs[0].size"]);
    expect(fieldsOf({ ...finished, outputs: null })).toEqual(["outputs"]);
  });

  it("accepts a finished report that gives only the count and digest of chunked outputs, and refuses half of that pair", () => {
    const finished = { type: "attempt.finished", attempt_id: att, outcome: "succeeded", exit_code: 0, error: null, outputs: [], output_count: 10_000, outputs_digest: sha };
    expect(parseAgentMessage(JSON.stringify(finished))).toEqual({ ok: true, value: finished });
    expect(accepts({ ...finished, output_count: 0 })).toBe(true);
    expect(fieldsOf({ ...finished, output_count: undefined })).toEqual(["output_count"]);
    expect(fieldsOf({ ...finished, outputs_digest: undefined })).toEqual(["outputs_digest"]);
    expect(fieldsOf({ ...finished, output_count: -1 })).toEqual(["output_count"]);
    expect(fieldsOf({ ...finished, output_count: MAX_OUTPUTS_PER_ATTEMPT + 1 })).toEqual(["output_count"]);
    expect(fieldsOf({ ...finished, outputs_digest: "xyz" })).toEqual(["outputs_digest"]);
  });

  it("accepts an outputs chunk and refuses one without outputs, a bad seq or an unsafe output", () => {
    const chunk = {
      type: "attempt.outputs", attempt_id: att, seq: 3,
      outputs: [{ path: "ckpt/epoch-0001/shard-00001.safetensors", key: `jobs/job_x/${att}/outputs/ckpt/epoch-0001/shard-00001.safetensors`, size: 10, sha256: sha }],
    };
    expect(parseAgentMessage(JSON.stringify(chunk))).toEqual({ ok: true, value: chunk });
    expect(fieldsOf({ ...chunk, outputs: [] })).toEqual(["outputs"]);
    expect(fieldsOf({ ...chunk, outputs: undefined })).toEqual(["outputs"]);
    expect(fieldsOf({ ...chunk, seq: -1 })).toEqual(["seq"]);
    expect(fieldsOf({ ...chunk, seq: "3" })).toEqual(["seq"]);
    expect(fieldsOf({ ...chunk, attempt_id: "att_../x" })).toEqual(["attempt_id"]);
    expect(fieldsOf({ ...chunk, outputs: [{ ...chunk.outputs[0], key: "/etc/passwd" }] })).toEqual(["outputs[0]"]);
    expect(fieldsOf({ ...chunk, outputs: [{ ...chunk.outputs[0], sha256: "0" }] })).toEqual(["outputs[0].sha256"]);
  });

  it("accepts chunk outputs that leave their key out (the gateway derives it) but refuses a key that is not a safe path", () => {
    const chunk = { type: "attempt.outputs", attempt_id: att, seq: 0, outputs: [{ path: "a/b.bin", size: 1, sha256: sha }] };
    expect(accepts(chunk)).toBe(true);
    expect(fieldsOf({ ...chunk, outputs: [{ path: "a/b.bin", key: "../b.bin", size: 1, sha256: sha }] })).toEqual(["outputs[0]"]);
    // A finished frame's inline outputs still need their key.
    expect(fieldsOf({ type: "attempt.finished", attempt_id: att, outcome: "succeeded", exit_code: 0, error: null, outputs: chunk.outputs })).toEqual(["outputs[0]"]);
  });

  it("refuses presign requests with no files, unsafe paths or bad sizes", () => {
    const req = { type: "presign.request", request_id: "r1", attempt_id: att, files: [{ path: "outputs/model.pt", size: 1 }] };
    expect(accepts(req)).toBe(true);
    expect(fieldsOf({ ...req, files: [] })).toEqual(["files"]);
    expect(fieldsOf({ ...req, files: [{ path: "../x", size: 1 }] })).toEqual(["files[0].path"]);
    expect(fieldsOf({ ...req, files: [{ path: "/abs", size: 1 }] })).toEqual(["files[0].path"]);
    expect(fieldsOf({ ...req, files: [{ path: "outputs/x", size: -5 }] })).toEqual(["files[0].size"]);
    expect(fieldsOf({ ...req, request_id: "r".repeat(65) })).toEqual(["request_id"]);
    expect(accepts({ ...req, compact: true })).toBe(true);
    expect(fieldsOf({ ...req, compact: "yes" })).toEqual(["compact"]);
  });

  it("accepts a presign request going on with a multipart upload, and refuses a bad upload id or part list", () => {
    const file = { path: "outputs/model.pt", size: 1e10, upload_id: "0004B9894A22E5B1888A1E29F8236E2D", parts: [3, 4] };
    const req = { type: "presign.request", request_id: "r1", attempt_id: att, files: [file], compact: true, multipart: true };
    expect(accepts(req)).toBe(true);
    expect(accepts({ ...req, files: [{ ...file, parts: [] }] })).toBe(true);
    expect(fieldsOf({ ...req, multipart: 1 })).toEqual(["multipart"]);
    // The id goes raw into a signed query string.
    expect(fieldsOf({ ...req, files: [{ ...file, upload_id: "a&partNumber=9" }] })).toEqual(["files[0].upload_id"]);
    expect(fieldsOf({ ...req, files: [{ ...file, upload_id: "" }] })).toEqual(["files[0].upload_id"]);
    expect(fieldsOf({ ...req, files: [{ ...file, parts: [0] }] })).toEqual(["files[0].parts"]);
    expect(fieldsOf({ ...req, files: [{ ...file, parts: [10_001] }] })).toEqual(["files[0].parts"]);
    expect(fieldsOf({ ...req, files: [{ ...file, parts: Array.from({ length: 1001 }, (_, i) => i + 1) }] })).toEqual(["files[0].parts"]);
    expect(fieldsOf({ ...req, files: [{ path: file.path, size: 1, parts: [1] }] })).toEqual(["files[0].parts"]);
  });

  it("refuses an enroll frame with an empty name or labels that are not strings", () => {
    const enroll = { type: "enroll", name: "ws-1", hostname: "ws-1", os: "linux", labels: { lab: "b201" } };
    expect(accepts(enroll)).toBe(true);
    expect(fieldsOf({ ...enroll, name: "" })).toEqual(["name"]);
    expect(fieldsOf({ ...enroll, labels: { gpus: 2 } })).toEqual(["labels"]);
  });
});

describe("parseServerMessage", () => {
  it("accepts every declared server message type", () => {
    for (const type of ["welcome", "attempt.start_granted", "attempt.cancel", "attempt.abort", "presign.response", "agent.pause", "agent.resume", "enrolled", "heartbeat.ack", "attempt.report_ack", "attempt.outputs_ack", "error"]) {
      expect(parseServerMessage(JSON.stringify({ type })).ok, type).toBe(true);
    }
  });

  it("refuses an unknown type and an assignment without attempt id or command", () => {
    expect(parseServerMessage('{"type":"hello"}')).toEqual({ ok: false, problems: [{ field: "type", reason: 'unknown message type "hello"' }] });
    expect(parseServerMessage(JSON.stringify({ type: "attempt.assign", attempt_id: att })).ok).toBe(false);
    expect(parseServerMessage(JSON.stringify({ type: "attempt.assign", attempt_id: "x", command: ["a"] })).ok).toBe(false);
    expect(parseServerMessage(JSON.stringify({ type: "attempt.assign", attempt_id: att, command: ["a"] })).ok).toBe(true);
    expect(parseServerMessage("not json").ok).toBe(false);
  });
});

describe("outputsDigest", () => {
  const a = { path: "a.bin", size: 1, sha256: sha };
  const b = { path: "ckpt/b.bin", size: 2, sha256: "b".repeat(64) };

  it("is the same whatever order the outputs come in", async () => {
    expect(await outputsDigest([a, b])).toBe(await outputsDigest([b, a]));
    expect(await outputsDigest([a, b])).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes when any path, size or hash changes, or an output is missing", async () => {
    const base = await outputsDigest([a, b]);
    const variants = [[a], [a, { ...b, path: "ckpt/c.bin" }], [a, { ...b, size: 3 }], [a, { ...b, sha256: "c".repeat(64) }], []];
    for (const v of variants) expect(await outputsDigest(v)).not.toBe(base);
  });

  it("is the sha256 of one JSON line per output, sorted by path", async () => {
    const { createHash } = await import("node:crypto");
    const text = `${JSON.stringify([a.path, a.size, a.sha256])}\n${JSON.stringify([b.path, b.size, b.sha256])}\n`;
    expect(await outputsDigest([b, a])).toBe(createHash("sha256").update(text).digest("hex"));
  });
});

describe("protocol constants", () => {
  it("describes problems on one line, field first", () => {
    expect(describeProblems([{ field: "os", reason: "must be a short string" }, { field: "", reason: "is not a JSON object" }]))
      .toBe("os must be a short string; is not a JSON object");
  });

  it("uses distinct application close codes so an agent can tell why it was closed", () => {
    const app = [CLOSE_CODES.malformed, CLOSE_CODES.unauthorized, CLOSE_CODES.revoked, CLOSE_CODES.replaced, CLOSE_CODES.too_large];
    expect(new Set(app).size).toBe(app.length);
    for (const code of app) expect(code).toBeGreaterThanOrEqual(4000);
    expect(MAX_FRAME_BYTES).toBe(64 * 1024);
  });
});

describe("agent.pause_state", () => {
  it("accepts the agent's own pause or null, and refuses the API's source, a bad until or an over-long reason", () => {
    const ok = (pause: unknown) => parseAgentMessage(JSON.stringify({ type: "agent.pause_state", pause })).ok;
    expect(ok(null)).toBe(true);
    expect(ok({ source: "gpu_busy", reason: "GPU 0: 2 other processes use 70824 MB", until: null })).toBe(true);
    expect(ok({ source: "local", reason: null, until: "2026-12-01T18:00:00.000Z" })).toBe(true);
    expect(ok({ source: "user_active", reason: "someone is using the workstation", until: null })).toBe(true);
    expect(ok({ source: "api", reason: "x", until: null })).toBe(false);
    expect(ok({ source: "local", reason: null, until: "tomorrow" })).toBe(false);
    expect(ok({ source: "local", reason: "x".repeat(501), until: null })).toBe(false);
    expect(ok({ source: "local", reason: null })).toBe(false);
    expect(ok(undefined)).toBe(false);
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { enrollAgent, listAudit, recordAudit } from "@labbridge/store";
import { expectError, startApiFixture, type ApiFixture } from "./api_fixture.ts";

// The audit trail as the API writes and serves it: every privileged or security-relevant
// act leaves one row, committed with the act, carrying who, role, what, target, result and
// the request id; GET /v1/audit (admin) reads it newest first with filters and a cursor.

const T0 = Date.UTC(2025, 0, 1, 12);
let f: ApiFixture;

beforeEach(async () => {
  f = await startApiFixture(T0);
});

afterEach(async () => {
  await f.close();
});

const rid = (id: string) => ({ headers: { "x-request-id": id } });
const summary = (rows: { action: string; actor: string; role: string; target_type: string; target_id: string | null; result: string; request_id: string | null }[]) =>
  rows.map((r) => [r.action, r.actor, r.role, r.target_type, r.target_id, r.result, r.request_id]);

describe("acts on the audit trail", () => {
  it("an enrollment token made by the API and used by an agent leaves one row each, the use naming the session", async () => {
    const made = await f.call("POST", "/v1/enrollment-tokens", { body: { ttl_seconds: 600, labels: { lab: "b201" } }, ...rid("req-enr") });
    expect(made.status, made.text).toBe(201);
    const [[token]] = (await f.api.ctx.pool.query("SELECT id FROM enrollment_tokens")) as unknown as [{ id: string }[]];
    f.now = T0 + 1000;
    const enrolled = await enrollAgent(f.api.ctx.pool, {
      token: made.body.token, name: "ws-1", hostname: "ws-1.lab", os: "linux", labels: {}, now: new Date(f.now), sessionId: "ses_enroll",
    });
    const rows = await listAudit(f.api.ctx.pool, { targetId: token!.id });
    expect(summary(rows)).toEqual([
      ["enrollment_token.created", "admin", "admin", "enrollment_token", token!.id, "ok", "req-enr"],
      ["enrollment_token.used", enrolled!.agentId, "agent", "enrollment_token", token!.id, "ok", "ses_enroll"],
    ]);
    expect(rows[0]!.details).toEqual({ labels: { lab: "b201" }, expires_at: new Date(T0 + 600_000).toISOString() });
    expect(rows[1]!.details).toEqual({ agent_id: enrolled!.agentId, name: "ws-1", hostname: "ws-1.lab", labels: { lab: "b201" } });
    expect(rows[1]!.at).toEqual(new Date(T0 + 1000));
    expect(JSON.stringify(rows)).not.toContain(made.body.token);
  });

  it("pausing, resuming, patching and revoking an agent each leave one row with the request id", async () => {
    const agentId = await f.enrolledAgent();
    expect((await f.call("POST", `/v1/agents/${agentId}/pause`, { body: { reason: "exam week" }, ...rid("req-p") })).status).toBe(202);
    expect((await f.call("POST", `/v1/agents/${agentId}/resume`, rid("req-r"))).status).toBe(202);
    expect((await f.call("PATCH", `/v1/agents/${agentId}`, { body: { slots: 2 }, ...rid("req-x") })).status).toBe(200);
    expect((await f.call("DELETE", `/v1/agents/${agentId}`, rid("req-d"))).status).toBe(204);
    const rows = await listAudit(f.api.ctx.pool, { targetId: agentId });
    expect(summary(rows)).toEqual([
      ["agent.paused", "admin", "admin", "agent", agentId, "ok", "req-p"],
      ["agent.resumed", "admin", "admin", "agent", agentId, "ok", "req-r"],
      ["agent.patched", "admin", "admin", "agent", agentId, "ok", "req-x"],
      ["agent.revoked", "admin", "admin", "agent", agentId, "ok", "req-d"],
    ]);
    expect(rows[0]!.details).toEqual({ reason: "exam week", until: null, stop_running: false });
  });

  it("an admin canceling another owner's job is audited; an owner canceling their own job is not", async () => {
    const bob = await f.mint("bob");
    const bobJob = await f.submit(bob.token);
    const bobOther = await f.submit(bob.token);
    expect((await f.call("POST", `/v1/jobs/${bobOther.id}/cancel`, { token: bob.token })).status).toBe(202);
    expect(await listAudit(f.api.ctx.pool, { targetId: bobOther.id })).toEqual([]);
    expect((await f.call("POST", `/v1/jobs/${bobJob.id}/cancel`, rid("req-c"))).status).toBe(202);
    const rows = await listAudit(f.api.ctx.pool, { targetId: bobJob.id });
    expect(summary(rows)).toEqual([["job.cancel_requested", "admin", "admin", "job", bobJob.id, "ok", "req-c"]]);
    expect(rows[0]!.details).toEqual({ owner: "bob", state: "PENDING" });
    const adminJob = await f.submit(f.admin);
    await f.call("POST", `/v1/jobs/${adminJob.id}/cancel`);
    expect(await listAudit(f.api.ctx.pool, { targetId: adminJob.id })).toEqual([]);
  });

  it("a user's tries at admin calls are refused with 403 and each leaves a refused row", async () => {
    const bob = await f.mint("bob");
    const agentId = await f.enrolledAgent();
    const as = { token: bob.token, ...rid("req-bob") };
    expectError(await f.call("POST", "/v1/enrollment-tokens", { ...as, body: {} }), 403, "forbidden");
    expectError(await f.call("POST", `/v1/agents/${agentId}/pause`, { ...as, body: {} }), 403, "forbidden");
    expectError(await f.call("POST", `/v1/agents/${agentId}/resume`, as), 403, "forbidden");
    expectError(await f.call("DELETE", `/v1/agents/${agentId}`, as), 403, "forbidden");
    expectError(await f.call("GET", "/v1/audit", as), 403, "forbidden");
    const refused = (await listAudit(f.api.ctx.pool)).filter((r) => r.result === "refused");
    expect(summary(refused)).toEqual([
      ["enrollment_token.created", "bob", "user", "enrollment_token", null, "refused", "req-bob"],
      ["agent.paused", "bob", "user", "agent", agentId, "refused", "req-bob"],
      ["agent.resumed", "bob", "user", "agent", agentId, "refused", "req-bob"],
      ["agent.revoked", "bob", "user", "agent", agentId, "refused", "req-bob"],
      ["audit.read", "bob", "user", "audit_log", null, "refused", "req-bob"],
    ]);
    expect(refused[1]!.details).toEqual({ reason: "needs an admin token", method: "POST", path: `/v1/agents/${agentId}/pause` });
    expect((await f.call("GET", `/v1/agents/${agentId}`)).body.paused).toBe(false);
  });

  it("an act whose audit row cannot be written does not happen", async () => {
    const agentId = await f.enrolledAgent();
    // A request id longer than the column is refused by MySQL inside the transaction, so the pause rolls back.
    await f.api.ctx.pool.query("ALTER TABLE audit_log MODIFY request_id VARCHAR(4) NULL");
    const a = await f.call("POST", `/v1/agents/${agentId}/pause`, { body: {}, ...rid("req-too-long") });
    expect(a.status).toBe(500);
    expect((await f.call("GET", `/v1/agents/${agentId}`)).body.paused).toBe(false);
  });
});

describe("GET /v1/audit", () => {
  it("lists rows newest first with the fields of API.md, pages with a cursor, and filters", async () => {
    const at = (ms: number) => new Date(T0 + ms);
    const base = { actor: "admin", role: "admin" as const, target_type: "agent", result: "ok", request_id: null, details: {} };
    await recordAudit(f.api.ctx.pool, { ...base, at: at(1), action: "agent.paused", target_id: "agt_A" });
    await recordAudit(f.api.ctx.pool, { ...base, at: at(2), action: "agent.resumed", target_id: "agt_A" });
    await recordAudit(f.api.ctx.pool, { ...base, at: at(3), action: "agent.paused", target_id: "agt_B", actor: "carol", role: "user", result: "refused" });
    await recordAudit(f.api.ctx.pool, { ...base, at: at(4), action: "agent.revoked", target_id: "agt_B", details: { why: "stolen" } });
    const all = await f.call("GET", "/v1/audit");
    expect(all.status, all.text).toBe(200);
    expect(all.body.items[0]).toEqual({
      at: at(4).toISOString(), actor: "admin", role: "admin", action: "agent.revoked", target_type: "agent", target_id: "agt_B",
      result: "ok", request_id: null, details: { why: "stolen" },
    });
    expect(all.body.items.map((r: { at: string }) => r.at)).toEqual([at(4), at(3), at(2), at(1)].map((d) => d.toISOString()));

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = await f.call("GET", `/v1/audit?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      pages.push(page.body.items.map((r: { action: string }) => r.action));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(pages).toEqual([["agent.revoked", "agent.paused", "agent.resumed"], ["agent.paused"]]);

    const q = async (query: string) => (await f.call("GET", `/v1/audit?${query}`)).body.items.map((r: { at: string }) => r.at);
    expect(await q("action=agent.paused")).toEqual([at(3), at(1)].map((d) => d.toISOString()));
    expect(await q("actor=carol")).toEqual([at(3).toISOString()]);
    expect(await q("result=refused")).toEqual([at(3).toISOString()]);
    expect(await q("target_type=agent&target_id=agt_A")).toEqual([at(2), at(1)].map((d) => d.toISOString()));
    expect(await q(`from=${at(2).toISOString()}&to=${at(4).toISOString()}`)).toEqual([at(3), at(2)].map((d) => d.toISOString()));
  });

  it("refuses an unknown parameter with 400, and a bad time, range or cursor with 422", async () => {
    expect(expectError(await f.call("GET", "/v1/audit?acter=x"), 400, "unknown_parameter").details.parameter).toBe("acter");
    expectError(await f.call("GET", "/v1/audit?from=yesterday"), 422, "validation_failed");
    expectError(await f.call("GET", "/v1/audit?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z"), 422, "validation_failed");
    expectError(await f.call("GET", "/v1/audit?cursor=eyJwIjoiYWJjIn0"), 422, "validation_failed");
  });
});

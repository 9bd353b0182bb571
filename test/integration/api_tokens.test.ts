import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listAudit } from "@labbridge/store";
import { expectError, startApiFixture, type ApiFixture } from "./api_fixture.ts";

// Users and API tokens over HTTP (API.md "Users, tokens, audit, usage"): minted by an admin,
// shown once, expiring, listed without their secret, revoked at once; the owner of
// LB_ADMIN_TOKEN is reserved (issue 9).

const T0 = Date.UTC(2025, 0, 1, 12);
const DAY = 86_400_000;
let f: ApiFixture;

beforeEach(async () => {
  f = await startApiFixture(T0);
});

afterEach(async () => {
  await f.close();
});

const ids = (a: { body: { items: { id: string }[] } }) => a.body.items.map((i) => i.id);

describe("issue 9: the reserved owner admin", () => {
  it("no user token can be minted for owner admin, so none sees the LB_ADMIN_TOKEN principal's jobs", async () => {
    const adminJob = await f.submit(f.admin);
    expect(adminJob.owner).toBe("admin");
    for (const owner of ["admin", "Admin", "ADMIN"]) {
      for (const role of ["user", "admin"]) {
        const err = expectError(await f.call("POST", "/v1/api-tokens", { body: { owner, role } }), 422, "reserved_owner");
        expect(err.details).toEqual({ field: "owner" });
        expect(err.message).toContain(`"${owner}"`);
      }
    }
    const [rows] = await f.api.ctx.pool.query("SELECT COUNT(*) AS n FROM api_tokens");
    expect((rows as { n: number }[])[0]!.n).toBe(0);
    // Before the fix such a token listed (and could cancel) every job of the admin.
    const alice = await f.mint("alice");
    expect((await f.call("GET", "/v1/jobs", { token: alice.token })).body.items).toEqual([]);
  });

  it("a token for owner admin already in the table (minted before the fix) is refused as invalid", async () => {
    const bob = await f.mint("bob");
    await f.api.ctx.pool.execute("UPDATE api_tokens SET owner = 'admin' WHERE id = ?", [bob.id]);
    expectError(await f.call("GET", "/v1/jobs", { token: bob.token }), 401, "invalid_token");
  });
});

describe("POST /v1/api-tokens", () => {
  it("mints a token shown once with id, owner, role, name and an expiry of ttl_seconds, and audits it", async () => {
    const a = await f.call("POST", "/v1/api-tokens", { body: { owner: "alice", role: "admin", name: "laptop", ttl_seconds: 7_776_000 }, headers: { "x-request-id": "req-mint-1" } });
    expect(a.status, a.text).toBe(201);
    expect(a.body).toEqual({
      id: expect.stringMatching(/^tok_[0-9A-Z]{26}$/), token: expect.stringMatching(/^lbu_/), owner: "alice", role: "admin", name: "laptop",
      expires_at: new Date(T0 + 7_776_000_000).toISOString(),
    });
    const [stored] = await f.api.ctx.pool.query("SELECT * FROM api_tokens");
    expect(JSON.stringify(stored)).not.toContain(a.body.token);
    const audit = await listAudit(f.api.ctx.pool, { targetId: a.body.id });
    expect(audit).toEqual([{
      at: new Date(T0), actor: "admin", role: "admin", action: "api_token.created", target_type: "api_token", target_id: a.body.id,
      result: "ok", request_id: "req-mint-1", details: { owner: "alice", role: "admin", name: "laptop", expires_at: a.body.expires_at },
    }]);
    expect(JSON.stringify(audit)).not.toContain(a.body.token);
  });

  it("defaults to role user, no name and 90 days", async () => {
    const a = await f.mint("alice");
    expect(a).toMatchObject({ role: "user", name: "", expires_at: new Date(T0 + 90 * DAY).toISOString() });
  });

  it("refuses an unknown field with 422 unknown_field, and a bad role, name or ttl_seconds with 422", async () => {
    const unknown = expectError(await f.call("POST", "/v1/api-tokens", { body: { owner: "alice", ttl: 60 } }), 422, "unknown_field");
    expect(unknown.details.field).toBe("ttl");
    for (const [body, field] of [
      [{ owner: "alice", role: "root" }, "role"], [{ owner: "alice", ttl_seconds: 59 }, "ttl_seconds"],
      [{ owner: "alice", ttl_seconds: 367 * 86_400 }, "ttl_seconds"], [{ owner: "alice", name: "x".repeat(129) }, "name"],
      [{ owner: "alice", name: "a\nb" }, "name"], [{ owner: "a b" }, "owner"], [{}, "owner"],
    ] as const) {
      const err = expectError(await f.call("POST", "/v1/api-tokens", { body }), 422, "validation_failed");
      expect((err.details.problems as { field: string }[]).map((p) => p.field), JSON.stringify(body)).toEqual([field]);
    }
  });

  it("a user may not mint tokens, and the refused try is audited", async () => {
    const bob = await f.mint("bob");
    expectError(await f.call("POST", "/v1/api-tokens", { token: bob.token, body: { owner: "eve", role: "admin" } }), 403, "forbidden");
    const refused = (await listAudit(f.api.ctx.pool)).filter((r) => r.result === "refused");
    expect(refused.map((r) => [r.actor, r.role, r.action])).toEqual([["bob", "user", "api_token.created"]]);
  });
});

describe("expiry", () => {
  it("a token works until its expiry and is refused with 401 token_expired from then on", async () => {
    const bob = await f.mint("bob", "user", { ttl_seconds: 3600 });
    f.now = T0 + 3_599_999;
    expect((await f.call("GET", "/v1/me", { token: bob.token })).status).toBe(200);
    f.now = T0 + 3_600_000;
    const err = expectError(await f.call("GET", "/v1/me", { token: bob.token }), 401, "token_expired");
    expect(err.details).toEqual({ token_id: bob.id });
    expectError(await f.call("POST", "/v1/jobs", { token: bob.token, body: { command: ["x"] } }), 401, "token_expired");
  });
});

describe("GET /v1/me", () => {
  it("tells the caller's owner, role and token id; the LB_ADMIN_TOKEN has no token id", async () => {
    const bob = await f.mint("bob");
    expect((await f.call("GET", "/v1/me", { token: bob.token })).body).toEqual({ owner: "bob", role: "user", token_id: bob.id });
    expect((await f.call("GET", "/v1/me")).body).toEqual({ owner: "admin", role: "admin", token_id: null });
    expectError(await f.call("GET", "/v1/me", { token: null }), 401, "unauthenticated");
  });
});

describe("GET /v1/api-tokens", () => {
  it("an admin sees every live token, a user only their own, and nobody sees a secret", async () => {
    const alice1 = await f.mint("alice", "user", { name: "laptop" });
    f.now = T0 + 1;
    const bob = await f.mint("bob");
    f.now = T0 + 2;
    const alice2 = await f.mint("alice", "admin", { name: "ci", ttl_seconds: 600 });
    const all = await f.call("GET", "/v1/api-tokens");
    expect(all.status, all.text).toBe(200);
    expect(ids(all)).toEqual([alice1.id, bob.id, alice2.id]);
    expect(all.body.items[0]).toEqual({
      id: alice1.id, owner: "alice", role: "user", name: "laptop", created_at: new Date(T0).toISOString(), created_by: "admin",
      expires_at: new Date(T0 + 90 * DAY).toISOString(),
    });
    expect(all.body.next_cursor).toBeNull();
    for (const t of [alice1, bob, alice2]) expect(all.text).not.toContain(t.token);
    expect(ids(await f.call("GET", "/v1/api-tokens?owner=alice"))).toEqual([alice1.id, alice2.id]);
    const mine = await f.call("GET", "/v1/api-tokens", { token: bob.token });
    expect(ids(mine)).toEqual([bob.id]);
    expect(ids(await f.call("GET", "/v1/api-tokens?owner=bob", { token: bob.token }))).toEqual([bob.id]);
    expectError(await f.call("GET", "/v1/api-tokens?owner=alice", { token: bob.token }), 403, "forbidden");
  });

  it("pages with limit and cursor without repeats, and refuses an unknown parameter or a foreign cursor", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      f.now = T0 + i;
      made.push((await f.mint(`user${i}`)).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await f.call("GET", `/v1/api-tokens?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(made);
    const unknown = expectError(await f.call("GET", "/v1/api-tokens?ownr=alice"), 400, "unknown_parameter");
    expect(unknown.details.parameter).toBe("ownr");
    expectError(await f.call("GET", "/v1/api-tokens?cursor=bm90LW91cnM"), 422, "validation_failed");
  });
});

describe("DELETE /v1/api-tokens/{id}", () => {
  it("revokes at once: the next call with the token is refused, the token leaves the list, and the act is audited", async () => {
    const bob = await f.mint("bob");
    expect((await f.call("GET", "/v1/me", { token: bob.token })).status).toBe(200);
    const del = await f.call("DELETE", `/v1/api-tokens/${bob.id}`, { headers: { "x-request-id": "req-revoke-1" } });
    expect(del.status, del.text).toBe(204);
    expectError(await f.call("GET", "/v1/me", { token: bob.token }), 401, "invalid_token");
    expect(ids(await f.call("GET", "/v1/api-tokens"))).toEqual([]);
    // Revoking again changes nothing and records nothing more.
    expect((await f.call("DELETE", `/v1/api-tokens/${bob.id}`)).status).toBe(204);
    const audit = await listAudit(f.api.ctx.pool, { targetId: bob.id });
    expect(audit.map((r) => [r.action, r.actor, r.result, r.request_id])).toEqual([
      // A call without X-Request-Id is served under a fresh req_… id, and its row names that.
      ["api_token.created", "admin", "ok", expect.stringMatching(/^req_/)], ["api_token.revoked", "admin", "ok", "req-revoke-1"],
    ]);
    expect(audit[1]!.details).toEqual({ owner: "bob", role: "user" });
  });

  it("a user may revoke their own token, and another owner's token reads as not found and stays live", async () => {
    const bob = await f.mint("bob");
    const bobPhone = await f.mint("bob", "user", { name: "phone" });
    const alice = await f.mint("alice");
    expectError(await f.call("DELETE", `/v1/api-tokens/${alice.id}`, { token: bob.token }), 404, "not_found");
    expect((await f.call("GET", "/v1/me", { token: alice.token })).status).toBe(200);
    expect((await f.call("DELETE", `/v1/api-tokens/${bobPhone.id}`, { token: bob.token })).status).toBe(204);
    expectError(await f.call("GET", "/v1/me", { token: bobPhone.token }), 401, "invalid_token");
    const revoked = await listAudit(f.api.ctx.pool, { targetId: bobPhone.id });
    expect(revoked.map((r) => [r.action, r.actor, r.role])).toEqual([["api_token.created", "admin", "admin"], ["api_token.revoked", "bob", "user"]]);
    expectError(await f.call("DELETE", "/v1/api-tokens/tok_00000000000000000000000000"), 404, "not_found");
  });
});

describe("GET /openapi.json", () => {
  it("describes the users, tokens, audit, usage and job logs endpoints and the new job list filters", async () => {
    const doc = (await f.call("GET", "/openapi.json", { token: null })).body;
    const methods = (path: string) => Object.keys(doc.paths[path] ?? {}).sort();
    expect(methods("/v1/api-tokens")).toEqual(["get", "post"]);
    expect(methods("/v1/api-tokens/{id}")).toEqual(["delete"]);
    expect(methods("/v1/me")).toEqual(["get"]);
    expect(methods("/v1/audit")).toEqual(["get"]);
    expect(methods("/v1/usage")).toEqual(["get"]);
    expect(methods("/v1/jobs/{id}/logs")).toEqual(["get"]);
    const names = (path: string) => doc.paths[path].get.parameters.filter((p: { in?: string }) => p.in === "query").map((p: { name: string }) => p.name);
    expect(names("/v1/jobs")).toEqual(["state", "agent_id", "owner", "name_prefix", "limit", "cursor"]);
    expect(names("/v1/usage")).toEqual(["from", "to", "group_by", "owner"]);
    expect(doc.paths["/v1/jobs"].get.summary).toMatch(/owner= naming another owner is 403/);
    expect(doc.paths["/v1/api-tokens"].post.requestBody.content["application/json"].schema.additionalProperties).toBe(false);
  });
});

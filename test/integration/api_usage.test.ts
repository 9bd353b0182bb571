import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectError, startApiFixture, type ApiFixture } from "./api_fixture.ts";

// GET /v1/usage on real MariaDB with exact figures: attempts count from started_at to
// finished_at (a running one up to now), clipped to [from, to), times the GPUs they held, or
// their agent's GPUs where they recorded none; never-started attempts count nothing.

const T0 = Date.UTC(2025, 3, 1, 0);
const H = 3_600_000;
let f: ApiFixture;
let alice: string;
let bob: string;
let agentA: string;
let agentB: string;

beforeEach(async () => {
  f = await startApiFixture(T0);
  alice = (await f.mint("alice")).token;
  bob = (await f.mint("bob")).token;
  agentA = await f.enrolledAgent();
  agentB = await f.enrolledAgent();
  const gpu = (i: number) => ({ index: i, name: "NVIDIA GeForce RTX 4090", memory_mb: 24_564 });
  await f.api.ctx.pool.execute("UPDATE agents SET gpus = ? WHERE id = ?", [JSON.stringify([gpu(0), gpu(1)]), agentA]);
  await f.api.ctx.pool.execute("UPDATE agents SET gpus = ? WHERE id = ?", [JSON.stringify([gpu(0)]), agentB]);

  let n = 0;
  const attempt = async (token: string, agentId: string, gpus: unknown[], startedH: number | null, finishedH: number | null) => {
    const job = await f.submit(token);
    n++;
    const at = (h: number | null) => (h === null ? null : new Date(T0 + h * H));
    const state = startedH === null ? "ASSIGNED" : finishedH === null ? "RUNNING" : "SUCCEEDED";
    await f.api.ctx.pool.execute(
      "INSERT INTO attempts (id, job_id, number, agent_id, state, assigned_at, started_at, finished_at, gpus) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)",
      [`att_${String(n).padStart(26, "0")}`, job.id, agentId, state, new Date(T0 - 10 * H), at(startedH), at(finishedH), JSON.stringify(gpus)],
    );
  };
  await attempt(alice, agentA, [{ index: 0 }], -1, 2); // 2 h in range on 1 GPU
  await attempt(alice, agentA, [], 3, 4.5); // 1.5 h; no GPUs recorded: agent A's 2
  await attempt(bob, agentB, [{ index: 0 }], 8, null); // running since 8 h
  await attempt(bob, agentA, [{ index: 0 }, { index: 1 }], -3, -2); // before the range
  await attempt(bob, agentB, [], null, null); // never started
  await attempt(alice, agentB, [], 9.5, 12); // 0.5 h in range; agent B's 1 GPU
});

afterEach(async () => {
  await f.close();
});

const range = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 10 * H).toISOString()}`;

describe("GET /v1/usage", () => {
  it("per owner: GPU-hours and wall-hours clipped to the range, a running attempt counted up to the end of the range", async () => {
    f.now = T0 + 20 * H;
    const a = await f.call("GET", `/v1/usage?${range}&group_by=owner`);
    expect(a.status, a.text).toBe(200);
    expect(a.body).toEqual({
      from: new Date(T0).toISOString(), to: new Date(T0 + 10 * H).toISOString(), group_by: "owner",
      items: [
        { owner: "alice", attempts: 3, gpu_hours: 5.5, wall_hours: 4 },
        { owner: "bob", attempts: 1, gpu_hours: 2, wall_hours: 2 },
      ],
    });
  });

  it("per agent: the same attempts split by the agent that ran them", async () => {
    f.now = T0 + 20 * H;
    const a = await f.call("GET", `/v1/usage?${range}&group_by=agent`);
    expect(a.body.items).toEqual([
      { agent_id: agentA, attempts: 2, gpu_hours: 5, wall_hours: 3.5 },
      { agent_id: agentB, attempts: 2, gpu_hours: 2.5, wall_hours: 2.5 },
    ]);
  });

  it("a running attempt counts up to now when now is inside the range", async () => {
    f.now = T0 + 9 * H + 30 * 60_000;
    const a = await f.call("GET", `/v1/usage?${range}&owner=bob`);
    expect(a.body.items).toEqual([{ owner: "bob", attempts: 1, gpu_hours: 1.5, wall_hours: 1.5 }]);
  });

  it("a user sees only their own usage; naming another owner is 403", async () => {
    f.now = T0 + 20 * H;
    expect((await f.call("GET", `/v1/usage?${range}`, { token: bob })).body.items).toEqual([{ owner: "bob", attempts: 1, gpu_hours: 2, wall_hours: 2 }]);
    expect((await f.call("GET", `/v1/usage?${range}&group_by=agent`, { token: bob })).body.items)
      .toEqual([{ agent_id: agentB, attempts: 1, gpu_hours: 2, wall_hours: 2 }]);
    expectError(await f.call("GET", `/v1/usage?${range}&owner=alice`, { token: bob }), 403, "forbidden");
    expect((await f.call("GET", `/v1/usage?${range}&owner=alice`, { token: alice })).body.items).toEqual([{ owner: "alice", attempts: 3, gpu_hours: 5.5, wall_hours: 4 }]);
  });

  it("defaults to the 30 days up to now, grouped by owner", async () => {
    f.now = T0 + 20 * H;
    const a = await f.call("GET", "/v1/usage");
    expect(a.body).toMatchObject({ from: new Date(T0 + 20 * H - 30 * 24 * H).toISOString(), to: new Date(T0 + 20 * H).toISOString(), group_by: "owner" });
    // Whole attempts now: alice 3 h + 1.5 h + 2.5 h; bob's running one 12 h and his early one 1 h on 2 GPUs.
    expect(a.body.items).toEqual([
      { owner: "bob", attempts: 2, gpu_hours: 14, wall_hours: 13 },
      { owner: "alice", attempts: 3, gpu_hours: 8.5, wall_hours: 7 },
    ]);
  });

  it("refuses a bad group_by, a backwards range, a time that is not RFC 3339 and an unknown parameter", async () => {
    expectError(await f.call("GET", `/v1/usage?${range}&group_by=gpu`), 422, "validation_failed");
    expectError(await f.call("GET", `/v1/usage?from=${new Date(T0 + H).toISOString()}&to=${new Date(T0).toISOString()}`), 422, "validation_failed");
    expectError(await f.call("GET", "/v1/usage?from=2025-04-01"), 422, "validation_failed");
    expectError(await f.call("GET", `/v1/usage?${range}&groupby=owner`), 400, "unknown_parameter");
  });
});

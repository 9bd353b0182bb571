import { describe, expect, it } from "vitest";
import { needsOf, pickGpus, planMatches, type FreeAgent, type PendingCandidate } from "@labbridge/store";

// The matcher's in-memory plan: fair share between owners, no head-of-line blocking, and
// GPUs picked whole by memory and name.

const agent = (id: string, over: Partial<FreeAgent> = {}): FreeAgent => ({
  id, gatewayId: "gw", os: "linux", labels: {}, freeSlots: 1, freeGpus: [], lastAssignedAt: null, ...over,
});
let seq = 0;
const job = (owner: string, reqClass = "any"): PendingCandidate => ({ id: `job${seq++}`, owner, reqClass, priority: 0, createdAt: seq });
const needs = new Map([
  ["any", needsOf({})],
  ["windows", needsOf({ os: "windows" })],
  ["gpu1", needsOf({ gpus: 1 })],
]);

describe("planMatches", () => {
  it("an owner never assigned goes before owners that were, and owners then alternate", () => {
    const jobs = [job("alice"), job("alice"), job("bob"), job("bob"), job("carol")];
    const plan = planMatches({
      agents: [agent("a1", { freeSlots: 5 })], candidates: jobs, needs, now: 1000,
      lastUse: new Map([["alice", 10], ["bob", 5]]),
    });
    expect(plan.map((p) => p.owner)).toEqual(["carol", "bob", "alice", "bob", "alice"]);
  });

  it("passes over jobs no free agent can run, however many, for the next one that fits", () => {
    const blocked = Array.from({ length: 50 }, () => job("alice", "windows"));
    const runnable = job("alice");
    const plan = planMatches({ agents: [agent("a1")], candidates: [...blocked, runnable], needs, lastUse: new Map(), now: 0 });
    expect(plan).toEqual([{ jobId: runnable.id, owner: "alice", agentId: "a1", gpus: [] }]);
  });

  it("gives each GPU job its own GPU and stops when the GPUs run out, slots left or not", () => {
    const gpus = [0, 1].map((index) => ({ index, uuid: `GPU-${index}`, name: "RTX 4090", memory_mb: 24564 }));
    const plan = planMatches({
      agents: [agent("a1", { freeSlots: 4, freeGpus: gpus })], candidates: [job("a", "gpu1"), job("a", "gpu1"), job("a", "gpu1")],
      needs, lastUse: new Map(), now: 0,
    });
    expect(plan.map((p) => p.gpus)).toEqual([[{ index: 0, uuid: "GPU-0" }], [{ index: 1, uuid: "GPU-1" }]]);
  });

  it("spreads jobs over agents, least recently assigned first", () => {
    const plan = planMatches({
      agents: [agent("a1", { freeSlots: 2, lastAssignedAt: 50 }), agent("a2", { freeSlots: 2, lastAssignedAt: null }), agent("a3", { freeSlots: 2, lastAssignedAt: 10 })],
      candidates: [job("x"), job("x"), job("x"), job("x")], needs, lastUse: new Map(), now: 100,
    });
    expect(plan.map((p) => p.agentId)).toEqual(["a2", "a3", "a1", "a2"]);
  });
});

describe("pickGpus", () => {
  const inventory = [
    { index: 1, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564 },
    { index: 0, name: "NVIDIA GeForce RTX 3060", memory_mb: 12288 },
    { index: 2, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564 },
  ];

  it("takes the lowest indices that have the memory and a name containing the one asked for, ignoring case", () => {
    expect(pickGpus(needsOf({ gpus: 2 }), inventory)).toEqual([{ index: 0 }, { index: 1 }]);
    expect(pickGpus(needsOf({ gpus: 1, gpu_memory_mb: 20000 }), inventory)).toEqual([{ index: 1 }]);
    expect(pickGpus(needsOf({ gpus: 2, gpu_name: "rtx 4090" }), inventory)).toEqual([{ index: 1 }, { index: 2 }]);
  });

  it("refuses when too few GPUs qualify, and gives a job that asks for none no GPU", () => {
    expect(pickGpus(needsOf({ gpus: 3, gpu_name: "4090" }), inventory)).toBeNull();
    expect(pickGpus(needsOf({ gpus: 4 }), inventory)).toBeNull();
    expect(pickGpus(needsOf({}), inventory)).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { fairShareOwnerOrder, fairSharePosition, queueReason, type AgentCapacity } from "@labbridge/store";

const rtx = { name: "NVIDIA GeForce RTX 4090", memory_mb: 24_564 };

function agent(over: Partial<AgentCapacity> = {}): AgentCapacity {
  return { id: "agt_1", os: "linux", labels: {}, gpus: [], slots: 1, running: 0, gpusHeld: 0, online: true, paused: false, ...over };
}

describe("queueReason", () => {
  it("says no agent matches when none is enrolled", () => {
    expect(queueReason({}, [], 0)).toEqual({ reason: "no_agent_matches", message: "no agent is enrolled" });
  });

  it("names the os no enrolled agent has", () => {
    expect(queueReason({ os: "windows" }, [agent(), agent({ os: "darwin" })], 0))
      .toEqual({ reason: "no_agent_matches", message: 'no enrolled agent has os "windows"' });
  });

  it("names the label no enrolled agent has", () => {
    expect(queueReason({ labels: { gpu: "a100" } }, [agent({ labels: { gpu: "rtx4090" } })], 0))
      .toEqual({ reason: "no_agent_matches", message: 'no enrolled agent has labels.gpu = "a100"' });
  });

  it("names the GPU count, model and memory no enrolled agent has", () => {
    expect(queueReason({ gpus: 2 }, [agent({ gpus: [rtx] })], 0)).toEqual({ reason: "no_agent_matches", message: "no enrolled agent has 2 GPUs" });
    expect(queueReason({ gpus: 1, gpu_name: "a100" }, [agent({ gpus: [rtx] })], 0).message).toBe('no enrolled agent has 1 GPU named like "a100"');
    expect(queueReason({ gpus: 1, gpu_memory_mb: 80_000 }, [agent({ gpus: [rtx] })], 0).message).toBe("no enrolled agent has 1 GPU with 80000 MB");
    // Without a count, name and memory ask for nothing (submit refuses them; old rows read so).
    expect(queueReason({ gpu_name: "a100" }, [agent({ gpus: [rtx] })], 0).reason).toBe("waiting_for_fair_share");
  });

  it("matches the GPU name without case and the agent os darwin as macos", () => {
    expect(queueReason({ gpus: 1, gpu_name: "rtx 4090", os: "macos" }, [agent({ os: "darwin", gpus: [rtx] })], 0).reason).toBe("waiting_for_fair_share");
  });

  it("says so when every requirement is met by some agent but none meets all", () => {
    const agents = [agent({ os: "windows" }), agent({ os: "linux", labels: { lab: "b201" } })];
    expect(queueReason({ os: "windows", labels: { lab: "b201" } }, agents, 0))
      .toEqual({ reason: "no_agent_matches", message: 'no enrolled agent has all of: os "windows", labels.lab = "b201"' });
  });

  it("says no agent is online when the matching ones are all offline", () => {
    expect(queueReason({}, [agent({ online: false }), agent({ online: false })], 0))
      .toEqual({ reason: "no_agent_online", message: "2 agents match; both are offline" });
  });

  it("says the agents are paused when every matching online one is", () => {
    expect(queueReason({}, [agent({ paused: true }), agent({ online: false })], 0))
      .toEqual({ reason: "agents_paused", message: "2 agents match; the 1 online is paused" });
  });

  it("says the agents are busy when no matching one has a free slot or enough free GPUs", () => {
    expect(queueReason({}, [agent({ running: 1 }), agent({ slots: 2, running: 2 })], 0))
      .toEqual({ reason: "agents_busy", message: "2 agents match; both are busy" });
    // A free slot but its only GPU is held.
    expect(queueReason({ gpus: 1 }, [agent({ slots: 4, running: 1, gpus: [rtx], gpusHeld: 1 })], 0).reason).toBe("agents_busy");
    // Held GPUs known by index: the free one fits.
    const two = agent({ slots: 4, running: 1, gpus: [{ ...rtx, index: 0 }, { name: "A100", memory_mb: 81_920, index: 1 }], gpusHeld: 1, heldGpuIndexes: [1] });
    expect(queueReason({ gpus: 1, gpu_name: "4090" }, [two], 0).reason).toBe("waiting_for_fair_share");
  });

  it("says the job waits for fair share when a matching agent is free, naming the jobs ahead", () => {
    expect(queueReason({}, [agent()], 3)).toEqual({ reason: "waiting_for_fair_share", message: "1 matching agent is free; 3 jobs go first under fair share" });
    expect(queueReason({}, [agent()], 0).message).toBe("1 matching agent is free; the scheduler takes this job next");
  });
});

describe("fair share positions", () => {
  it("serves the owner whose latest assignment is oldest first, never assigned before all", () => {
    const order = fairShareOwnerOrder([
      { owner: "alice", pending: 3, lastAssignedAt: new Date(2000) },
      { owner: "bob", pending: 1, lastAssignedAt: new Date(1000) },
      { owner: "carol", pending: 1, lastAssignedAt: null },
    ]);
    expect(order).toEqual(["carol", "bob", "alice"]);
  });

  it("puts one owner's single job ahead of another owner's long queue", () => {
    const order = ["alice", "bob"];
    const pending = new Map([["alice", 10_000], ["bob", 1]]);
    // alice goes first in each round: her first job is 1st, bob's only job 2nd, her second 3rd.
    expect(fairSharePosition("alice", 0, order, pending)).toBe(1);
    expect(fairSharePosition("bob", 0, order, pending)).toBe(2);
    expect(fairSharePosition("alice", 1, order, pending)).toBe(3);
    // Once bob has none left, alice's jobs follow one another.
    expect(fairSharePosition("alice", 5, order, pending)).toBe(7);
  });
});

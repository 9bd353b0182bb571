import { describe, expect, it } from "vitest";
import { judge, longestStall, type JudgedSubmission } from "../faults/verdict.ts";
import type { JobView } from "../faults/workload.ts";

// The fault suite's judge must catch each way a job can go wrong, or the suite proves nothing.

const AT = "2026-01-01T00:00:00.000Z";

function view(id: string, state: string, attempts: [string, string][], cause = state === "SUCCEEDED" ? "succeeded" : "lease_expired", maxAttempts = 1): JobView {
  return {
    id, state, max_attempts: maxAttempts,
    attempts: attempts.map(([aid, agent]) => ({ id: aid, agent_id: agent, state, started_at: AT, finished_at: AT, error: null })),
    history: [{ state: "PENDING", at: AT, cause: "submitted" }, { state, at: AT, cause }],
  };
}

const sub = (jobId: string, extra: Partial<JudgedSubmission> = {}): JudgedSubmission => ({ label: jobId, body: {}, refusals: 0, jobId, ...extra });

describe("judge", () => {
  it("passes a job that succeeded after exactly one run", () => {
    const v = judge([sub("j1")], new Map([["j1", view("j1", "SUCCEEDED", [["a1", "g1"]])]]), [{ jobId: "j1", attemptId: "a1" }]);
    expect(v).toMatchObject({ lost: [], ranTwice: [], wrongState: [], states: { SUCCEEDED: 1 } });
  });

  it("counts as lost a job that never ended, vanished, or succeeded without its process having run", () => {
    const views = new Map([["j1", view("j1", "RUNNING", [["a1", "g1"]])], ["j2", null], ["j3", view("j3", "SUCCEEDED", [["a3", "g1"]])]]);
    const v = judge([sub("j1"), sub("j2"), sub("j3")], views, []);
    expect(v.lost).toHaveLength(3);
  });

  it("counts as run twice an attempt id seen twice, more runs than max_attempts, or a run of an attempt the API does not know", () => {
    const views = new Map([
      ["j1", view("j1", "SUCCEEDED", [["a1", "g1"]])],
      ["j2", view("j2", "SUCCEEDED", [["a2", "g1"], ["b2", "g2"]])],
      ["j3", view("j3", "SUCCEEDED", [["a3", "g1"]])],
    ]);
    const ledger = [
      { jobId: "j1", attemptId: "a1" }, { jobId: "j1", attemptId: "a1" },
      { jobId: "j2", attemptId: "a2" }, { jobId: "j2", attemptId: "b2" },
      { jobId: "j3", attemptId: "a3" }, { jobId: "j3", attemptId: "zz" },
    ];
    expect(judge([sub("j1"), sub("j2"), sub("j3")], views, ledger).ranTwice).toHaveLength(3);
  });

  it("allows a re-run only where max_attempts asked for it", () => {
    const views = new Map([["j1", view("j1", "SUCCEEDED", [["a1", "g1"], ["b1", "g2"]], "succeeded", 2)]]);
    const v = judge([sub("j1", { expect: { state: "SUCCEEDED", runs: 2 } })], views, [{ jobId: "j1", attemptId: "a1" }, { jobId: "j1", attemptId: "b1" }]);
    expect(v).toMatchObject({ ranTwice: [], wrongState: [], rerunByRequest: 1 });
  });

  it("accepts FAILED lease_expired only for an attempt on an agent the fault hit", () => {
    const views = new Map([["j1", view("j1", "FAILED", [["a1", "cut"]])], ["j2", view("j2", "FAILED", [["a2", "fine"]])]]);
    const ledger = [{ jobId: "j1", attemptId: "a1" }, { jobId: "j2", attemptId: "a2" }];
    const v = judge([sub("j1"), sub("j2")], views, ledger, { agentFaults: new Set(["cut"]) });
    expect(v.failedWithAgent).toBe(1);
    expect(v.wrongState).toEqual([expect.stringContaining("j2")]);
  });

  it("holds a job to its own expectation when it has one", () => {
    const views = new Map([["j1", view("j1", "SUCCEEDED", [["a1", "cut"]])]]);
    const v = judge([sub("j1", { expect: { state: "FAILED", cause: "lease_expired", runs: 1 } })], views, [{ jobId: "j1", attemptId: "a1" }], { agentFaults: new Set(["cut"]) });
    expect(v.wrongState).toHaveLength(1);
  });
});

describe("longestStall", () => {
  it("is the longest gap between job endings inside the window, edges included", () => {
    const at = (ms: number) => ({ ...view("x", "SUCCEEDED", []), history: [{ state: "SUCCEEDED", at: new Date(ms).toISOString(), cause: "succeeded" }] });
    expect(longestStall([at(1000), at(1500), at(4500), null], 0, 5000)).toBe(3);
  });
});

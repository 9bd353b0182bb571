import { describe, expect, it } from "vitest";
import { decodeEntry, encodeEntry, STREAM_ENTRY_VERSION, streamNames } from "@labbridge/protocol";

describe("stream entries", () => {
  it("encodes an entry as flat fields in the order type, v, ids, ts, data", () => {
    const fields = encodeEntry({
      type: "attempt.started", job_id: "job_1", attempt_id: "att_1", agent_id: "agt_1", ts: "2025-01-01T00:00:00.000Z", data: { n: 1 },
    });
    expect(fields).toEqual([
      "type", "attempt.started", "v", String(STREAM_ENTRY_VERSION), "job_id", "job_1", "attempt_id", "att_1", "agent_id", "agt_1",
      "ts", "2025-01-01T00:00:00.000Z", "data", '{"n":1}',
    ]);
  });

  it("leaves out ids an entry does not have", () => {
    const fields = encodeEntry({ type: "job.submitted", job_id: "job_1", data: {} });
    const names = fields.filter((_, i) => i % 2 === 0);
    expect(names).toEqual(["type", "v", "job_id", "ts", "data"]);
  });

  it("stamps a readable ISO time when no ts is given", () => {
    const fields = encodeEntry({ type: "job.submitted", data: {} });
    const ts = fields[fields.indexOf("ts") + 1]!;
    expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(ts) - Date.now())).toBeLessThan(5000);
  });

  it("decodes what it encoded", () => {
    const entry = {
      type: "attempt.succeeded", job_id: "job_1", attempt_id: "att_1", agent_id: "agt_1", ts: "2025-01-01T00:00:00.000Z",
      data: { exit_code: 0, outputs: [{ path: "m.pt", size: 3 }], error: null },
    };
    expect(decodeEntry(encodeEntry(entry))).toEqual({ ...entry, v: STREAM_ENTRY_VERSION });
  });

  it("decodes an entry without data as empty data", () => {
    expect(decodeEntry(["type", "job.submitted", "v", "1", "ts", "t"])).toEqual({ type: "job.submitted", v: 1, ts: "t", data: {} });
  });

  it("refuses an entry without a type or with an unknown version", () => {
    expect(() => decodeEntry(["v", "1", "data", "{}"])).toThrow("Stream entry has no type");
    expect(() => decodeEntry(["type", "job.submitted", "v", "2", "data", "{}"])).toThrow('Stream entry "job.submitted" has unknown version: 2');
    expect(() => decodeEntry(["type", "job.submitted", "data", "{}"])).toThrow(/unknown version/);
  });

  it("refuses an entry whose data is not JSON", () => {
    expect(() => decodeEntry(["type", "job.submitted", "v", "1", "data", "{oops"])).toThrow();
  });

  it("names every stream under the prefix", () => {
    const s = streamNames("lb");
    expect([s.jobs, s.agentEvents, s.jobEvents, s.gateway("gw-1")]).toEqual(["lb:jobs", "lb:agent-events", "lb:job-events", "lb:gw:gw-1"]);
  });
});

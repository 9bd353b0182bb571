import { describe, expect, it } from "vitest";
import { ERROR_CODES, errorBody, httpStatusOf, ID_PREFIX, isErrorCode, isId, isRetryable, isTerminalJobState, newId } from "@labbridge/protocol";

describe("error codes", () => {
  it("builds the structured error body with a default message, empty details and the request id", () => {
    expect(errorBody("not_found", "req_1")).toEqual({ error: { code: "not_found", message: "Not found", details: {}, request_id: "req_1" } });
    expect(errorBody("validation_failed", "req_2", "Invalid x", { field: "x" }))
      .toEqual({ error: { code: "validation_failed", message: "Invalid x", details: { field: "x" }, request_id: "req_2" } });
  });

  it("maps codes to the HTTP statuses API.md names", () => {
    expect([httpStatusOf("malformed_json"), httpStatusOf("unauthenticated"), httpStatusOf("invalid_token"), httpStatusOf("forbidden"),
      httpStatusOf("not_found"), httpStatusOf("job_already_finished"), httpStatusOf("payload_too_large"), httpStatusOf("validation_failed"),
      httpStatusOf("idempotency_key_reused"), httpStatusOf("rate_limited"), httpStatusOf("unavailable"),
      httpStatusOf("malformed_url"), httpStatusOf("unknown_parameter"), httpStatusOf("unknown_field"), httpStatusOf("method_not_allowed")])
      .toEqual([400, 401, 401, 403, 404, 409, 413, 422, 422, 429, 503, 400, 400, 422, 405]);
  });

  it("says only unavailable, rate_limited and internal are retryable as they are", () => {
    const retryable = (Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]).filter(isRetryable).sort();
    expect(retryable).toEqual(["internal", "rate_limited", "unavailable"]);
  });

  it("recognises error codes and nothing inherited from Object", () => {
    expect(isErrorCode("lease_expired")).toBe(true);
    expect(isErrorCode("toString")).toBe(false);
    expect(isErrorCode(404)).toBe(false);
  });
});

describe("ids", () => {
  it("makes ids with their prefix that sort by time", () => {
    const a = newId(ID_PREFIX.job, 1_700_000_000_000);
    const b = newId(ID_PREFIX.job, 1_700_000_000_001);
    expect(isId(a, ID_PREFIX.job)).toBe(true);
    expect(a < b).toBe(true);
    expect(a).toHaveLength(4 + 26);
  });

  it("tells ids of one kind from another and from garbage", () => {
    const att = newId(ID_PREFIX.attempt);
    expect(isId(att, ID_PREFIX.job)).toBe(false);
    expect(isId(att, ID_PREFIX.attempt)).toBe(true);
    expect(isId("att_../../etc", ID_PREFIX.attempt)).toBe(false);
    expect(isId(`${att}x`, ID_PREFIX.attempt)).toBe(false);
  });

  it("never makes the same id twice in the same millisecond", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId(ID_PREFIX.job, 1)));
    expect(ids.size).toBe(1000);
  });
});

describe("job states", () => {
  it("treats only SUCCEEDED, FAILED and CANCELED as terminal", () => {
    expect(["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"].filter((s) => isTerminalJobState(s as never)))
      .toEqual(["SUCCEEDED", "FAILED", "CANCELED"]);
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPool, listAudit, recordAudit, type Pool } from "@labbridge/store";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// The audit trail on a real MariaDB: rows are appended and read back, and the table itself
// refuses to change or drop one.

let env: TestEnv;
let pool: Pool;

beforeEach(async () => {
  env = await createTestEnv();
  pool = createPool(env.config.mysqlUrl);
});

afterEach(async () => {
  await pool.end();
  await env.cleanup();
});

const row = {
  at: new Date(1_700_000_000_123), actor: "agt_X", role: "agent" as const, action: "agent.session_refused",
  target_type: "agent", target_id: "agt_X", result: "refused", request_id: "ses_Y", details: { remote_address: "10.0.0.9" },
};

describe("audit_log", () => {
  it("appends rows and reads them back in the order written, with their details", async () => {
    await recordAudit(pool, row);
    await recordAudit(pool, { ...row, result: "revoked", target_id: "agt_Z" });
    expect(await listAudit(pool)).toEqual([row, { ...row, result: "revoked", target_id: "agt_Z" }]);
    expect(await listAudit(pool, { targetId: "agt_Z" })).toHaveLength(1);
  });

  it("refuses to update or delete a row", async () => {
    await recordAudit(pool, row);
    await expect(pool.execute("UPDATE audit_log SET result = 'ok'")).rejects.toThrow(/never updated/);
    await expect(pool.execute("DELETE FROM audit_log")).rejects.toThrow(/never deleted/);
    expect(await listAudit(pool)).toEqual([row]);
  });
});

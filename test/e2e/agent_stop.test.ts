// A stopped agent settles its jobs before it goes, on real processes (object store, the
// four services, Deno agents) against real Redis and MariaDB: a SIGTERMed agent's running
// job shows FAILED agent_stopped within seconds, not a 30 s lease later, and is not run
// again unless max_attempts allows.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../harness/bridge.ts";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

// The default lease: a stop that went unreported would show only when it runs out.
const LEASE_TTL_SECONDS = 30;

let env: TestEnv;
let bridge: Bridge;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  env = await createTestEnv({ LB_LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS), LB_HEARTBEAT_SECONDS: "2", LB_LOG_LEVEL: "info" });
  bridge = await Bridge.start({ env: env.env });
});

afterAll(async () => {
  await bridge?.stop();
  await env?.cleanup();
});

/** An agent of its own label, with a job of that label RUNNING on it; the job writes its pid to a file. */
async function runningJobOnNewAgent(name: string, extra: Record<string, unknown> = {}, command?: string[]) {
  const labels = { role: `${name}-${env.id}` };
  const agent = await bridge.startAgent({ name, labels });
  const pidFile = join(bridge.workDir, `${name}.pid`);
  const created = await bridge.api("POST", "/v1/jobs", {
    command: command ?? ["sh", "-c", `echo $$ > "${pidFile}"; exec sleep 300`],
    requirements: { labels },
    ...extra,
  });
  expect(created.status).toBe(201);
  await bridge.waitForJob(created.body!.id, ["RUNNING"], 60_000);
  await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "", 30_000, "job pid file");
  const jobPid = Number(readFileSync(pidFile, "utf8"));
  expect(alive(jobPid)).toBe(true);
  return { agent, jobId: created.body!.id as string, jobPid, labels };
}

describe("stopping an agent", () => {
  it("a SIGTERMed agent's running job is FAILED agent_stopped within 5 s of the signal, with one attempt", async () => {
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const { agent, jobId, jobPid } = await runningJobOnNewAgent(`stopped-${run}`, { max_attempts: 1 });
      agent.child.proc.kill("SIGTERM");
      const signalledAt = Date.now();
      const job = await bridge.waitForJob(jobId, ["FAILED", "SUCCEEDED", "CANCELED", "PENDING"], 5_000);
      times.push(Date.now() - signalledAt);
      expect(job.state).toBe("FAILED");
      expect(job.attempts).toHaveLength(1);
      expect(job.attempts[0].error.code).toBe("agent_stopped");
      expect(job.history.at(-1).cause).toBe("agent_stopped");
      expect(alive(jobPid)).toBe(false);
      expect((await agent.child.exited).code).toBe(0);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`[stop] job FAILED agent_stopped ${times.map((t) => (t / 1000).toFixed(2)).join(", ")} s after SIGTERM; median ${(sorted[1]! / 1000).toFixed(2)} s (lease ${LEASE_TTL_SECONDS} s)`);
  });

  it("with max_attempts 2 the stopped job goes back to PENDING and runs again on another agent", async () => {
    const marker = join(bridge.workDir, `second-run-${env.id}`);
    // First run: leaves a marker and keeps running; a second run finds the marker and succeeds.
    const { agent, jobId, jobPid, labels } = await runningJobOnNewAgent("requeued", { max_attempts: 2 }, [
      "sh", "-c", `echo $$ > "${join(bridge.workDir, "requeued.pid")}"; test -e "${marker}" && exit 0; touch "${marker}"; exec sleep 300`,
    ]);
    agent.child.proc.kill("SIGTERM");
    const pending = await bridge.waitForJob(jobId, ["PENDING", "FAILED", "SUCCEEDED"], 5_000);
    expect(pending.state).toBe("PENDING");
    expect(pending.attempts[0]).toMatchObject({ state: "FAILED", error: { code: "agent_stopped" } });
    expect(alive(jobPid)).toBe(false);
    await bridge.startAgent({ name: "requeued-2", labels });
    const job = await bridge.waitForJob(jobId, ["SUCCEEDED", "FAILED"], 60_000);
    expect(job.state).toBe("SUCCEEDED");
    expect(job.attempts.map((a: { state: string }) => a.state)).toEqual(["FAILED", "SUCCEEDED"]);
  });
});

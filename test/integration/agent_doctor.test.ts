// `labbridge-agent doctor` (the real Deno agent, as a process) against a real gateway: the
// gateway checks it reads (reachable, credential, clock) pass for an enrolled agent, and the
// credential check fails once the agent is revoked, because the real gateway closes a revoked
// credential's socket right after the upgrade (4403, decision 0005).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { revokeAgent } from "@labbridge/store";
import { stackPerTest, type GatewayStack } from "./gateway_stack.ts";

const run = promisify(execFile);
const agentMjs = join(import.meta.dirname, "..", "..", "scripts", "agent.mjs");

let s: GatewayStack;
stackPerTest((stack) => (s = stack));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs the agent CLI; resolves with its exit code and stdout lines whatever the code. */
async function agent(...args: string[]): Promise<{ code: number; lines: string[] }> {
  try {
    const { stdout } = await run(process.execPath, [agentMjs, ...args], { timeout: 60_000 });
    return { code: 0, lines: stdout.trim().split("\n") };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, lines: err.stdout.trim().split("\n") };
  }
}

const line = (lines: string[], name: string) => lines.find((l) => l.slice(5).startsWith(`${name}:`)) ?? `(no ${name} line in ${lines.join(" | ")})`;

describe("agent doctor against the gateway", () => {
  it("an enrolled agent's gateway, credential and clock pass; once revoked, the credential fails with 4403 and a fix", async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), "lb-doctor-gw-")), "state");
    dirs.push(join(stateDir, ".."));
    const enrolled = await agent("enroll", "--server", s.url, "--token", await s.enrollmentToken(), "--state-dir", stateDir);
    expect(enrolled.code).toBe(0);
    const agentId = JSON.parse(enrolled.lines.at(-1)!).agent_id as string;

    const before = await agent("doctor", "--state-dir", stateDir);
    expect(line(before.lines, "gateway reachable")).toMatch(/^ok {3}gateway reachable: ws:\/\/127\.0\.0\.1:\d+ .* answered in \d+ ms$/);
    expect(line(before.lines, "credential accepted")).toBe(`ok   credential accepted: ${s.url} took the credential of agent ${agentId}`);
    expect(line(before.lines, "clock skew")).toMatch(/^ok {3}clock skew: \d+\.\d s (behind|ahead of) /);

    await revokeAgent(s.pool, { agentId, now: new Date(s.now) });
    const after = await agent("doctor", "--state-dir", stateDir);
    expect(after.code).toBe(1);
    expect(line(after.lines, "credential accepted")).toMatch(/^FAIL credential accepted: .* says the credential was revoked \(close 4403\) — fix: ask for a new enrollment token/);
  }, 120_000);
});

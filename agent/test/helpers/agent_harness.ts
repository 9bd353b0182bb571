// Runs a real Agent in the test process against a FakeGateway: real WebSocket, real job
// processes, real files in a temp state folder, with every agent-owned timer shrunk.
import { createHash } from "node:crypto";
import { type AssignMessage, ID_PREFIX, newId } from "../../../packages/protocol/src/index.ts";
import { Agent, type AgentOptions } from "../../src/agent.ts";
import { DEFAULT_JOB_USER, writeIdentity } from "../../src/runtime/agent_state.ts";
import { setUpJobs } from "../../src/attempt/job_setup.ts";
import type { ConnectionEnd } from "../../src/session/connection_loop.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { currentOs } from "../../src/os/current.ts";
import { DEFAULT_TIMINGS, type Timings } from "../../src/runtime/timings.ts";
import { FakeGateway } from "./fake_gateway.ts";
import { FakeStore } from "./fake_store.ts";
import { until } from "./wait.ts";

/** Set to true while debugging a test to see the agent's log lines. */
const ECHO_LOGS = false;

export const FAST_TIMINGS: Timings = {
  ...DEFAULT_TIMINGS,
  progressIntervalMs: 100,
  killGraceMs: 300,
  logDrainMs: 300,
  presignTimeoutMs: 5_000,
  grantTimeoutLeases: 3,
  shutdownMs: 5_000,
  connectTimeoutMs: 2_000,
  welcomeTimeoutMs: 2_000,
  backoffBaseMs: 50,
  backoffCapMs: 400,
  transfer: { tries: 3, baseDelayMs: 20, idleTimeoutMs: 5_000 },
};

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export interface RunningAgent {
  stateDir: string;
  agent: Agent;
  /** Where the attempts' folders are (`<state-dir>-work`). */
  workRoot: string;
  logs: LogLine[];
  rawLogs: string[];
  done: Promise<ConnectionEnd>;
  /** Stops the agent like SIGTERM would and waits for it. */
  stop(): Promise<ConnectionEnd>;
  /** Stops, and removes the temp state folder. */
  dispose(): Promise<void>;
  waitLog(msg: string, pred?: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

export interface AgentExtras {
  /** Gateway addresses in agent.json; defaults to `gateway`'s alone. */
  servers?: string[];
  /** Pins the agent's random choices (first gateway, jitter, backoff). */
  random?: () => number;
  /** The agent's own environment, as jobs would inherit from; defaults to the test process's. */
  agentEnv?: Record<string, string>;
  /** --job-user; defaults to labbridge-job (root here: a missing one falls back to nobody). */
  jobUser?: string;
  /** --pass-env. */
  passEnv?: string[];
  /** Local control (pause state, yield watch, policy); absent: the API's pause only. */
  control?: AgentOptions["control"];
}

export async function startAgent(gateway: FakeGateway, timings: Partial<Timings> = {}, extras: AgentExtras = {}): Promise<RunningAgent> {
  // State and work folders are siblings in a folder of their own; jobs run as another
  // account when the tests run as root, so that folder must be passable (o+x) for them.
  const parent = await Deno.makeTempDir({ prefix: "lb-agent-test-" });
  await Deno.chmod(parent, 0o711);
  const stateDir = `${parent}/state`;
  const os = currentOs();
  const identity = { servers: extras.servers ?? [gateway.url], agent_id: gateway.agentId, credential: gateway.credential, name: "test-agent" };
  await writeIdentity(stateDir, identity, os);
  const rawLogs: string[] = [];
  const logs: LogLine[] = [];
  const log = createLogger((line) => {
    rawLogs.push(line);
    logs.push(JSON.parse(line));
    if (ECHO_LOGS) console.log(line);
  }).child({ agent_id: identity.agent_id });
  const jobs = await setUpJobs({
    stateDir,
    workRoot: `${stateDir}-work`,
    jobUser: extras.jobUser ?? DEFAULT_JOB_USER,
    passEnv: extras.passEnv ?? [],
    agentEnv: extras.agentEnv ?? Deno.env.toObject(),
  }, os, log);
  const agent = new Agent({ identity, jobs, os, log, timings: { ...FAST_TIMINGS, ...timings }, hostname: "test-host", gpus: [], random: extras.random, control: extras.control });
  const stopper = new AbortController();
  const done = agent.run(stopper.signal);
  const stop = async () => {
    stopper.abort();
    return await done;
  };
  return {
    stateDir,
    agent,
    workRoot: jobs.workRoot,
    logs,
    rawLogs,
    done,
    stop,
    async dispose() {
      await stop();
      await Deno.remove(parent, { recursive: true }).catch(() => {});
    },
    waitLog: (msg, pred = () => true, timeoutMs = 15_000) => until(() => logs.find((l) => l.msg === msg && pred(l)), `log "${msg}"`, timeoutMs),
  };
}

/** An attempt.assign with fresh ids. */
export function makeAssign(command: string[], extra: Partial<AssignMessage> = {}): AssignMessage {
  return {
    type: "attempt.assign",
    attempt_id: newId(ID_PREFIX.attempt),
    job_id: newId(ID_PREFIX.job),
    command,
    env: {},
    inputs: [],
    timeout_seconds: 600,
    ...extra,
  };
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes).digest("hex");
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A fake gateway and store with a real agent connected, each closed after `test` however it ends. */
export async function withAgent(
  test: (t: { gw: FakeGateway; store: FakeStore; agent: RunningAgent }) => Promise<void>,
  timings: Partial<Timings> = {},
  extras: AgentExtras = {},
): Promise<void> {
  const gw = new FakeGateway();
  const store = new FakeStore();
  const agent = await startAgent(gw, timings, extras);
  try {
    await test({ gw, store, agent });
  } finally {
    await agent.dispose();
    await gw.close();
    await store.close();
  }
}

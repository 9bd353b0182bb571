// The cloud side for gateway tests: a gateway on a real uWebSockets.js socket, with a real
// scheduler and lease reaper on the same Redis prefix and database, and scripted `ws`
// agents. All of them share one injected clock, so leases and presence expire when a test
// moves the clock, not by sleeping. createTestEnv sets the lease TTL to 3 s and the
// heartbeat to 0.5 s.
import { afterAll, afterEach, beforeEach } from "vitest";
import { startApi, type RunningApi } from "@labbridge/api";
import { startGateway, type RunningGateway } from "@labbridge/gateway";
import { startReaper } from "@labbridge/lease-reaper";
import { createLogger, type Logger } from "@labbridge/logging";
import { checkJobSpec } from "@labbridge/protocol";
import { startScheduler, type RunningScheduler } from "@labbridge/scheduler";
import { createEnrollmentToken, createJob, getAgentRow, getJob, type JobView } from "@labbridge/store";
import { appendEntry } from "@labbridge/streams";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";
import { ScriptedAgent, type MessageOf } from "./ws_agent.ts";

const silent = createLogger("gateway-test", "silent");

/** How GatewayStack.start sets the gateway up. */
export interface StackOptions {
  gatewayRedisUrl?: string;
  gatewayLog?: Logger;
  /** LB_* variables over the test environment's (e.g. an object store endpoint). */
  env?: Record<string, string>;
}

/** A running gateway, scheduler and reaper with scripted agents. */
export class GatewayStack {
  now = Date.now();
  readonly clock = () => this.now;
  private readonly closers: (() => Promise<unknown>)[] = [];
  private readonly sockets: ScriptedAgent[] = [];

  private constructor(readonly env: TestEnv) {}

  /** The gateway; set by start(). */
  gw!: RunningGateway;

  /**
   * Starts the stack; `gatewayRedisUrl` points the gateway (only) at another Redis address,
   * such as a proxy; `gatewayLog` receives the gateway's log lines (silent otherwise).
   */
  static async start(opts: StackOptions = {}): Promise<GatewayStack> {
    const stack = new GatewayStack(await createTestEnv(opts.env));
    const { config } = stack.env;
    stack.gw = await startGateway({ ...config, redisUrl: opts.gatewayRedisUrl ?? config.redisUrl }, { clock: stack.clock, log: opts.gatewayLog ?? silent });
    stack.scheduler = startScheduler(config, { clock: stack.clock, log: silent });
    const reaper = startReaper(config, { clock: stack.clock, log: silent });
    stack.closers.push(stack.gw.close, stack.scheduler.close, reaper.close);
    return stack;
  }

  /** The scheduler; replaced by restartScheduler(). */
  scheduler!: RunningScheduler;

  /** Stops the scheduler (as if it could not write: MySQL away), then returns a function that starts a new one. */
  async stopScheduler(): Promise<() => void> {
    this.closers.splice(this.closers.indexOf(this.scheduler.close), 1);
    await this.scheduler.close();
    return () => {
      this.scheduler = startScheduler(this.env.config, { clock: this.clock, log: silent });
      this.closers.push(this.scheduler.close);
    };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets.splice(0)) s.terminate();
    await Promise.all(this.closers.splice(0).map((close) => close()));
    await this.env.cleanup();
  }

  get url(): string {
    return `ws://127.0.0.1:${this.gw.port}`;
  }

  get pool() {
    return this.gw.ctx.pool;
  }

  /** Another gateway on the same Redis, MySQL and clock, as several run behind a balancer; closed by stop(). */
  async anotherGateway(suffix = "b"): Promise<RunningGateway> {
    const gw = await startGateway({ ...this.env.config, gatewayId: `${this.env.config.gatewayId}-${suffix}` }, { clock: this.clock, log: silent });
    this.closers.push(gw.close);
    return gw;
  }

  /** Stops the gateway now (the scheduler and reaper keep running until stop()). */
  async closeGateway(): Promise<void> {
    this.closers.splice(this.closers.indexOf(this.gw.close), 1);
    await this.gw.close();
  }

  /** Moves the shared clock forward. */
  advance(ms: number): void {
    this.now += ms;
  }

  /** Starts an API on the same environment and clock. */
  async startApi(): Promise<RunningApi> {
    const api = await startApi(this.env.config, { clock: this.clock, log: silent });
    this.closers.push(api.close);
    return api;
  }

  async connect(path: string, token?: string): Promise<ScriptedAgent> {
    const s = await ScriptedAgent.connect(`${this.url}${path}`, token);
    this.sockets.push(s);
    return s;
  }

  async enrollmentToken(labels: Record<string, string> = {}, ttlSeconds = 600): Promise<string> {
    return (await createEnrollmentToken(this.pool, { createdBy: "admin", ttlSeconds, labels, now: new Date(this.now) })).token;
  }

  /** Enrolls a new agent over /v1/enroll and returns its id and credential. */
  async enroll(labels: Record<string, string> = {}): Promise<{ agentId: string; credential: string }> {
    const s = await this.connect("/v1/enroll", await this.enrollmentToken());
    s.send({ type: "enroll", name: "ws-b201-07", hostname: "ws-b201-07", os: "linux", labels });
    const enrolled = await s.next("enrolled");
    return { agentId: enrolled.agent_id, credential: enrolled.credential };
  }

  agentRow(agentId: string) {
    return getAgentRow(this.pool, agentId);
  }

  async agentStatus(agentId: string): Promise<string | undefined> {
    return (await this.agentRow(agentId))?.status;
  }

  /** Connects with the credential, says hello, waits for welcome and for the agent to be ONLINE in MySQL. */
  async online(credential: string, hello: Record<string, unknown> = {}): Promise<{ agent: ScriptedAgent; welcome: MessageOf<"welcome"> }> {
    const agent = await this.connect("/v1/agent", credential);
    agent.hello(hello);
    const welcome = await agent.next("welcome");
    await waitFor(async () => {
      const row = await this.agentRow(welcome.agent_id);
      return row?.status === "ONLINE" && row.session_id === welcome.session_id;
    }, 10_000, "agent ONLINE in MySQL");
    return { agent, welcome };
  }

  /** Enrolls and connects a fresh agent. */
  async newAgent(labels: Record<string, string> = {}) {
    const { agentId, credential } = await this.enroll(labels);
    const { agent, welcome } = await this.online(credential);
    return { agentId, credential, agent, welcome };
  }

  /** Creates a PENDING job in MySQL and wakes the scheduler with job.submitted, as the API does. */
  async submit(body: Record<string, unknown> = {}): Promise<string> {
    const checked = checkJobSpec({ command: ["python", "train.py"], ...body });
    if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
    const { job } = await createJob(this.pool, { owner: "alice", spec: checked.value, idempotencyKey: null, now: new Date(this.now) });
    await appendEntry(this.gw.ctx.redis, this.gw.ctx.streams.jobs, { type: "job.submitted", job_id: job.id, data: { owner: "alice" } });
    return job.id;
  }

  async job(jobId: string): Promise<JobView> {
    return (await getJob(this.pool, jobId))!;
  }

  async jobIn(jobId: string, state: string, timeoutMs = 10_000): Promise<JobView> {
    return waitFor(async () => {
      const j = await this.job(jobId);
      return j.state === state ? j : null;
    }, timeoutMs, `job ${jobId} to be ${state}`);
  }

  /** Submits a job and waits until the agent holds its assignment. */
  async assignedTo(agent: ScriptedAgent, body: Record<string, unknown> = {}) {
    const jobId = await this.submit(body);
    const assign = await agent.next("attempt.assign", (m) => m.job_id === jobId, 10_000);
    return { jobId, attemptId: assign.attempt_id, assign };
  }

  /** Assigns a job and has the agent start it. */
  async running(agent: ScriptedAgent, body: Record<string, unknown> = {}) {
    const a = await this.assignedTo(agent, body);
    agent.send({ type: "attempt.start_request", attempt_id: a.attemptId });
    await agent.next("attempt.start_granted", (m) => m.attempt_id === a.attemptId);
    await this.jobIn(a.jobId, "RUNNING");
    return a;
  }

  /** Sends a heartbeat and waits until the gateway recorded it at the current clock time. */
  async heartbeat(agent: ScriptedAgent, agentId: string, runningIds: string[] = []): Promise<void> {
    agent.send({ type: "heartbeat", running: runningIds });
    const at = this.now;
    await waitFor(async () => (await this.gw.ctx.presence.session(agentId))?.lastSeen === at, 5000, "heartbeat to be recorded");
  }

  /** One value from the gateway's /metrics. */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.gw.port}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    if (!line) throw new Error(`metric ${name} not found in ${text}`);
    return Number(line.split(" ")[1]);
  }

  /** Entries of a stream as flat field maps, as redis-cli XRANGE shows them. */
  async entries(stream: string): Promise<Record<string, string>[]> {
    const raw = await this.gw.ctx.redis.xrange(stream, "-", "+");
    return raw.map(([, fields]) => {
      const m: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) m[fields[i]!] = fields[i + 1]!;
      return m;
    });
  }
}

/**
 * Gives every test of the file its own stack (own prefix and database), handed to `use`.
 * A test's stack may finish stopping (its stream loops leave their blocking reads within
 * a second) while the next test runs; the file waits for all of them at the end.
 */
export function stackPerTest(use: (stack: GatewayStack) => void, options: () => StackOptions = () => ({})): void {
  const stopping: Promise<void>[] = [];
  let current: GatewayStack | null = null;
  beforeEach(async () => {
    current = await GatewayStack.start(options());
    use(current);
  });
  afterEach(() => {
    if (current) stopping.push(current.stop());
    current = null;
  });
  afterAll(async () => {
    await Promise.all(stopping);
  });
}

// The connection-scale part of `npm run bench` (issue 11): provisioned agents held by as
// many gateway processes as the open-file limit needs, side by side with a plain `ws`
// server and a bare uWS server holding the same connections. Measures gateway RSS against
// connections on one gateway (the slope), the total over all gateways, the time until all
// are ONLINE in MySQL after a cold start and after a reconnect storm, how far ONLINE lags
// welcome, the heartbeat round trip under load, the wire bytes of an idle agent, and the
// control bytes of one job.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPool, provisionAgents, type Pool } from "@labbridge/store";
import { Bridge, createTestEnv, ROOT, startChild, type Child } from "@labbridge/devstack";
import { percentile, round } from "../stats.ts";
import { controlBytesPerJob, type ControlBytes } from "./control_bytes.ts";
import { Fleet } from "./fleet.ts";
import type { ClientStats } from "./client_process.ts";
import { idleWireBytes, onlineLagP99Seconds, slope } from "./figures.ts";

/** Agents one gateway process holds at most here (20,000 open files per process, less the gateway's own). */
export const MAX_AGENTS_PER_GATEWAY = 19_000;

/** How the connection bench is run. */
export interface ConnectionSettings {
  agents: number;
  /** Most agents the slope gateway is taken to (19,000 here: 20,000 open files per process). */
  slopeMax: number;
  slopeStep: number;
  gateways: number;
  /** Seconds the whole fleet is held idle for the round trip and wire figures. */
  holdSeconds: number;
  heartbeatSeconds: number;
  /** Heartbeat of an agent holding no attempt (LB_IDLE_HEARTBEAT_SECONDS): the interval of the whole idle fleet. */
  idleHeartbeatSeconds: number;
  /** Longest wait for all agents to be ONLINE after the cold start or the storm; past it the figure is recorded as not reached. */
  settleSeconds: number;
  jobs: number;
  smoke: boolean;
  /** Folder that keeps every service's log after the run (by default they go with the run's temporary folder). */
  logDir?: string;
}

/** One RSS sample: connections held and the server's resident set (and, for the gateway, its V8 heap in use). */
export interface RssPoint {
  connections: number;
  rss: number;
  heapUsed?: number;
}

/** What the connection bench measured. */
export interface ConnectionResults {
  settings: ConnectionSettings;
  agents_connected: number;
  gateway_rss_bytes_per_agent: number;
  /** Slope of the gateway's V8 heap in use: the JS part of its memory per agent. */
  gateway_heap_bytes_per_agent: number;
  ws_baseline_rss_bytes_per_agent: number;
  uws_floor_rss_bytes_per_agent: number;
  gateway_rss_total_bytes: number;
  gateway_rss_points: RssPoint[];
  ws_rss_points: RssPoint[];
  uws_rss_points: RssPoint[];
  /** Agents ONLINE when the cold start ended (all of them, or as many as were within settleSeconds). */
  cold_start_online_agents: number;
  /** The same after the storm (null when the cold start did not settle and the storm was not run). */
  storm_online_agents: number | null;
  cold_start_all_welcomed_s: number;
  cold_start_all_online_s: number;
  reconnect_storm_s: number;
  online_lag_p99_s: number;
  cold_start_online_lag_p99_s: number;
  storm_online_lag_p99_s: number;
  /** Longest time between two ONLINE polls of the cold start and the storm: the resolution of the lag figures. */
  online_poll_max_gap_ms: number;
  heartbeat_rtt_p50_ms: number;
  heartbeat_rtt_p99_ms: number;
  idle_agent_payload_bytes_per_s: number;
  idle_agent_wire_bytes_per_s: number;
  control_bytes_per_job: number;
  control: ControlBytes;
  retry_hints: number;
  connect_errors: number;
}

const say = (msg: string, extra: unknown = "") => process.stderr.write(`bench: ${msg} ${extra ? JSON.stringify(extra) : ""}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident set of a process in bytes (VmRSS), or NaN when it is gone. */
export function rssOf(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, detail: () => Promise<unknown> = async () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms: ${JSON.stringify(await detail())}`);
    await sleep(250);
  }
}

/** The fleet's counters without its samples, for a message. */
async function fleetSummary(fleet: Fleet): Promise<Record<string, unknown>> {
  const { welcomeTimes: _w, rtts: _r, ...rest } = await fleet.stats();
  return rest;
}

/**
 * Polls the ONLINE count of sessions started at or after `since` every 250 ms until it
 * reaches `target`. The count walks the (status, …) index over every agent: 14 ms at
 * 100,000 on a quiet machine (31 ms with the old `labels LIKE` filter), so the bench polls
 * four times a second to keep its own load off MySQL. It reads uncommitted rows on a
 * connection of its own: under a storm's UPDATEs a consistent read rebuilds every changed
 * row from the undo log, and a poll took tens of seconds at 100,000 agents (one poll
 * between 0 and 43 s of the cold start, which read as a 30 s welcome → ONLINE lag that the
 * services' own logs put at 1.5 s). A status is only ever uncommitted for the moment
 * between the scheduler's UPDATE and its commit. Only fleet agents connect after `since`
 * (the control-bytes agent is gone by then).
 */
async function onlineCurve(pool: Pool, since: number, target: number, timeoutMs: number): Promise<{ t: number; n: number }[]> {
  const curve: { t: number; n: number }[] = [];
  const deadline = Date.now() + timeoutMs;
  let lastSaid = Date.now();
  const conn = await pool.getConnection();
  try {
    await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED");
    while (Date.now() < deadline) {
      const [rows] = await conn.query("SELECT COUNT(*) AS n FROM agents WHERE status = 'ONLINE' AND connected_since >= ?", [new Date(since)]);
      const n = Number((rows as { n: number }[])[0]!.n);
      curve.push({ t: Date.now(), n });
      if (n >= target) return curve;
      if (Date.now() - lastSaid >= 10_000) {
        say(`${n} of ${target} ONLINE`, { s: Math.round((Date.now() - since) / 1000) });
        lastSaid = Date.now();
      }
      await sleep(250);
    }
    return curve;
  } finally {
    conn.release();
  }
}

/** The longest time between two polls of a curve, or from its start to the first (ms): the resolution of the lag read off it. */
const longestGap = (since: number, curve: readonly { t: number }[]) => curve.reduce((gap, p, i) => Math.max(gap, p.t - (i ? curve[i - 1]!.t : since)), 0);

/** Steps the fleet up against one server, sampling its RSS after each step; closes the agents after. */
async function rssSteps(fleet: Fleet, urls: string[], pid: () => number | undefined, s: ConnectionSettings, heap?: () => Promise<number>): Promise<RssPoint[]> {
  const points: RssPoint[] = [];
  let held = 0;
  const first = await fleet.stats(true);
  const base = first.welcomed;
  points.push({ connections: 0, rss: rssOf(pid()), heapUsed: await heap?.() });
  while (held < s.slopeMax) {
    const step = Math.min(s.slopeStep, s.slopeMax - held);
    await fleet.connect(urls, step);
    held += step;
    await waitUntil(`${held} agents welcomed`, 300_000, async () => (await fleet.stats()).welcomed - base >= held, () => fleetSummary(fleet));
    await sleep(1000); // allocations of the last connects settle (buffers, the hello's handlers)
    points.push({ connections: (await fleet.stats()).connected, rss: rssOf(pid()), heapUsed: await heap?.() });
    say("step", points.at(-1));
  }
  await fleet.closeAgents();
  return points;
}

/** Slope of RSS against connections from the first step on (the empty server's base is left out). */
const rssSlope = (points: RssPoint[]) => round(slope(points.filter((p) => p.connections > 0).map((p) => ({ x: p.connections, y: p.rss }))));

/** Runs the connection bench; everything it started is stopped and removed before it returns. */
export async function connectionBench(s: ConnectionSettings): Promise<ConnectionResults> {
  const env = await createTestEnv({
    LB_LEASE_TTL_SECONDS: "30", LB_HEARTBEAT_SECONDS: String(s.heartbeatSeconds), LB_IDLE_HEARTBEAT_SECONDS: String(s.idleHeartbeatSeconds),
    // A process here may hold 20,000 open files: each gateway caps itself below that (admission.ts).
    LB_GATEWAY_MAX_AGENTS: String(MAX_AGENTS_PER_GATEWAY),
    LB_SWEEP_SECONDS: "5", LB_LOG_LEVEL: "info", LB_METRICS_LOG_SECONDS: "3600",
  }, "lbconn");
  const pool = createPool(env.config.mysqlUrl);
  let bridge: Bridge | null = null;
  let fleet: Fleet | null = null;
  const baselines: Child[] = [];
  let credsFile = "";
  if (s.slopeMax > s.agents) throw new Error(`Invalid slope size ${s.slopeMax}: more than the ${s.agents} agents`);
  try {
    say(`provisioning ${s.agents} agents`);
    const creds = await provisionAgents(pool, { count: s.agents, namePrefix: "fleet", os: "linux", labels: { bench: "fleet" }, slots: 1, now: new Date() });
    credsFile = join(tmpdir(), `${env.config.prefix}-creds.json`);
    writeFileSync(credsFile, JSON.stringify(creds.map((c) => ({ agent_id: c.agentId, name: c.name, credential: c.credential }))), { mode: 0o600 });
    bridge = await Bridge.start({ env: env.env, logDir: s.logDir });
    if (s.logDir) say(`service logs in ${s.logDir}`);
    const gateways: { name: string; url: string; child: Child }[] = [{ name: "gateway", url: bridge.gatewayUrl, child: bridge.child("gateway") }];
    for (let i = 2; i <= s.gateways; i++) {
      const name = `gateway-${i}`;
      const child = await bridge.startService("gateway", name, { LB_GATEWAY_ID: `${env.env.LB_GATEWAY_ID}-${i}`, LB_GATEWAY_PORT: "0" });
      const line = await child.waitForMsg("gateway listening");
      gateways.push({ name, url: `ws://127.0.0.1:${line.port}`, child });
    }
    const urls = gateways.map((g) => g.url);

    say("control bytes per job");
    const control = await controlBytesPerJob(bridge, pool, s.jobs);
    say("control bytes", control);

    fleet = await Fleet.start(credsFile, s.agents);
    say(`RSS against connections on one gateway, up to ${s.slopeMax}`);
    const gw1 = gateways[0]!.child;
    const b = bridge;
    const gatewayPoints = await rssSteps(fleet, [urls[0]!], () => gw1.proc.pid, s, () => b.metric(urls[0]!, "lb_gateway_heap_used_bytes"));
    say("gateway RSS", gatewayPoints);
    const baselinePoints: Record<"ws" | "uws", RssPoint[]> = { ws: [], uws: [] };
    for (const kind of ["ws", "uws"] as const) {
      const child = startChild(`baseline-${kind}`, process.execPath, ["--import", "tsx", "loadtest/bench/connections/baseline_server.ts", kind], { env: env.env, cwd: ROOT, logFile: join(bridge.logDir, `baseline-${kind}.log`) });
      baselines.push(child);
      const line = await child.waitForMsg("baseline listening");
      say(`RSS against connections on a plain ${kind} server`);
      baselinePoints[kind] = await rssSteps(fleet, [`ws://127.0.0.1:${line.port}`], () => child.proc.pid, s);
      await child.stop();
    }
    say("baseline RSS", baselinePoints);

    say(`cold start: ${s.agents} agents over ${s.gateways} gateways`);
    await fleet.stats(true);
    const t0 = Date.now();
    // Polled from the first connect on: the fleet's processes take most of the cold start
    // to open 100,000 sockets, and a curve started after them (as it once was) had its first
    // point 40 s in, which read as a 35 s welcome → ONLINE lag for the early agents.
    const coldCurveDone = onlineCurve(pool, t0, s.agents, s.settleSeconds * 1000);
    await fleet.connect(urls, s.agents);
    const coldCurve = await coldCurveDone;
    const cold = await fleet.stats(true);
    const allWelcomed = cold.welcomeTimes.length ? Math.max(...cold.welcomeTimes) : NaN;
    const coldOnline = coldCurve.at(-1)!;
    // A phase that does not settle is a figure (not reached), not a crash: the rest is still measured and written.
    const coldSettled = coldOnline.n >= s.agents;
    say(coldSettled ? "cold start" : `cold start NOT settled: ${coldOnline.n} of ${s.agents} ONLINE after ${s.settleSeconds} s`, {
      all_welcomed_s: (allWelcomed - t0) / 1000, all_online_s: (coldOnline.t - t0) / 1000, retry_hints: cold.retryHints, closes: cold.closes, connect_errors: cold.connectErrors,
    });

    say(`holding ${s.agents} idle agents for ${s.holdSeconds} s`);
    await sleep(s.idleHeartbeatSeconds * 1100); // every agent past its first (idle) heartbeat
    await fleet.stats(true);
    const holdStart = performance.now();
    await sleep(s.holdSeconds * 1000);
    const hold = await fleet.stats(true);
    const holdSeconds = (performance.now() - holdStart) / 1000;
    const wire = idleWireBytes(hold, hold.connected, holdSeconds);
    const totalRss = gateways.reduce((sum, g) => sum + rssOf(g.child.proc.pid), 0);

    // A storm on a fleet that never got ONLINE measures nothing new: it is left out, and its figures are not reached.
    let storm: Pick<ClientStats, "welcomeTimes" | "retryHints" | "connectErrors" | "closes"> = { welcomeTimes: [], retryHints: 0, connectErrors: 0, closes: {} };
    let stormCurve: { t: number; n: number }[] = [];
    let stormOnline: { t: number; n: number } | null = null;
    const tDrop = Date.now();
    if (coldSettled) {
      say("reconnect storm: every connection dropped at once");
      const stormCurveDone = onlineCurve(pool, tDrop, s.agents, s.settleSeconds * 1000);
      await fleet.drop();
      stormCurve = await stormCurveDone;
      storm = await fleet.stats(true);
      stormOnline = stormCurve.at(-1)!;
      say(stormOnline.n >= s.agents ? "storm" : `storm NOT settled: ${stormOnline.n} of ${s.agents} ONLINE after ${s.settleSeconds} s`,
        { all_online_s: (stormOnline.t - tDrop) / 1000, retry_hints: storm.retryHints, closes: storm.closes });
    }
    const stormSettled = stormOnline !== null && stormOnline.n >= s.agents;
    const coldLag = coldSettled ? onlineLagP99Seconds(cold.welcomeTimes, coldCurve) : NaN;
    const stormLag = stormSettled ? onlineLagP99Seconds(storm.welcomeTimes, stormCurve) : NaN;

    return {
      settings: s,
      agents_connected: hold.connected,
      gateway_rss_bytes_per_agent: rssSlope(gatewayPoints),
      gateway_heap_bytes_per_agent: round(slope(gatewayPoints.filter((p) => p.connections > 0).map((p) => ({ x: p.connections, y: p.heapUsed ?? NaN })))),
      ws_baseline_rss_bytes_per_agent: rssSlope(baselinePoints.ws),
      uws_floor_rss_bytes_per_agent: rssSlope(baselinePoints.uws),
      gateway_rss_total_bytes: totalRss,
      gateway_rss_points: gatewayPoints,
      ws_rss_points: baselinePoints.ws,
      uws_rss_points: baselinePoints.uws,
      cold_start_online_agents: coldOnline.n,
      storm_online_agents: stormOnline?.n ?? null,
      cold_start_all_welcomed_s: round((allWelcomed - t0) / 1000),
      cold_start_all_online_s: coldSettled ? round((coldOnline.t - t0) / 1000) : NaN,
      reconnect_storm_s: stormSettled ? round((stormOnline!.t - tDrop) / 1000) : NaN,
      online_lag_p99_s: round(Math.max(coldLag, stormLag)),
      cold_start_online_lag_p99_s: round(coldLag),
      storm_online_lag_p99_s: round(stormLag),
      online_poll_max_gap_ms: Math.max(longestGap(t0, coldCurve), stormCurve.length ? longestGap(tDrop, stormCurve) : 0),
      heartbeat_rtt_p50_ms: round(percentile(hold.rtts, 50)),
      heartbeat_rtt_p99_ms: round(percentile(hold.rtts, 99)),
      idle_agent_payload_bytes_per_s: round(wire.payload),
      idle_agent_wire_bytes_per_s: round(wire.wire),
      control_bytes_per_job: control.wire_bytes_per_job,
      control,
      retry_hints: cold.retryHints + storm.retryHints,
      connect_errors: cold.connectErrors + storm.connectErrors,
    };
  } finally {
    await fleet?.stop();
    for (const b of baselines) await b.stop();
    await bridge?.stop();
    await pool.end();
    await env.cleanup();
    if (credsFile) rmSync(credsFile, { force: true });
  }
}

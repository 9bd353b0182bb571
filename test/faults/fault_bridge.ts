// The fault suite's topology: two of every service (APIs, gateways, schedulers, lease
// reapers) against a private AOF redis-server and the shared MariaDB, each reached
// through a TCP proxy the tests control, and Deno agents that reach each gateway through
// their own proxy, so one agent's network can be cut without touching the others.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createPool, type Pool } from "@labbridge/store";
import { Bridge, type AgentHandle } from "../harness/bridge.ts";
import { freePort } from "../harness/free_port.ts";
import { RedisServer } from "../harness/redis_server.ts";
import { TcpProxy } from "../harness/tcp_proxy.ts";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

/** Sizes and timings of the topology. */
export interface FaultBridgeOptions {
  agents: number;
  /** Attempts each agent may hold at once (agents.slots; there is no API for it yet). */
  slots: number;
  leaseSeconds: number;
  heartbeatSeconds: number;
}

/** One agent with the proxies it reaches the gateways through. */
export interface FaultAgent extends AgentHandle {
  links: TcpProxy[];
}

/** The service processes, by harness name. */
export const SERVICES = {
  api: ["api", "api-2"],
  gateway: ["gateway", "gateway-2"],
  scheduler: ["scheduler", "scheduler-2"],
  "lease-reaper": ["lease-reaper", "lease-reaper-2"],
} as const;

export class FaultBridge {
  readonly agents: FaultAgent[] = [];
  apiUrls: string[] = [];

  private constructor(
    readonly env: TestEnv,
    readonly bridge: Bridge,
    readonly redis: RedisServer,
    readonly redisLink: TcpProxy,
    readonly mysqlLink: TcpProxy,
    readonly gatewayPorts: number[],
    /** A direct pool (not through the proxy) for test set-up and read-back. */
    readonly pool: Pool,
  ) {}

  static async start(opts: FaultBridgeOptions): Promise<FaultBridge> {
    const env = await createTestEnv({
      LB_LEASE_TTL_SECONDS: String(opts.leaseSeconds),
      LB_HEARTBEAT_SECONDS: String(opts.heartbeatSeconds),
      LB_SWEEP_SECONDS: "1",
      LB_LOG_LEVEL: "info",
      LB_METRICS_LOG_SECONDS: "3600",
    }, "lbfault");
    const workDir = join(process.env.LB_FAULTS_WORK_DIR ?? "/tmp", `lb-faults-${env.id}`);
    mkdirSync(workDir, { recursive: true });
    const redis = await RedisServer.start({ dir: join(workDir, "redis"), appendfsync: "everysec" });
    const redisLink = await TcpProxy.start({ name: "redis", target: { host: "127.0.0.1", port: redis.port } });
    const mysql = new URL(env.config.mysqlUrl);
    const mysqlLink = await TcpProxy.start({ name: "mysql", target: { host: mysql.hostname, port: Number(mysql.port || 3306) } });
    const proxiedMysql = new URL(env.config.mysqlUrl);
    proxiedMysql.host = `127.0.0.1:${mysqlLink.port}`;
    const [api1, api2, gw1, gw2] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const serviceEnv = {
      ...env.env,
      LB_REDIS_URL: `redis://127.0.0.1:${redisLink.port}`,
      LB_MYSQL_URL: proxiedMysql.toString(),
      LB_API_PORT: String(api1),
      LB_GATEWAY_PORT: String(gw1),
      LB_GATEWAY_ID: `${env.id}-gw1`,
    };
    const bridge = await Bridge.start({ env: serviceEnv, workDir });
    const fb = new FaultBridge(env, bridge, redis, redisLink, mysqlLink, [gw1!, gw2!], createPool(env.config.mysqlUrl));
    await Promise.all([
      bridge.startService("api", "api-2", { LB_API_PORT: String(api2) }),
      bridge.startService("gateway", "gateway-2", { LB_GATEWAY_PORT: String(gw2), LB_GATEWAY_ID: `${env.id}-gw2` }),
      bridge.startService("scheduler", "scheduler-2"),
      bridge.startService("lease-reaper", "lease-reaper-2"),
    ]);
    fb.apiUrls = [`http://127.0.0.1:${api1}`, `http://127.0.0.1:${api2}`];
    for (let i = 0; i < opts.agents; i++) await fb.addAgent(`agent-${i + 1}`, opts.slots);
    await waitFor(async () => (await fb.offlineAgents()).length === 0, 60_000, "every agent ONLINE");
    return fb;
  }

  get workDir(): string {
    return this.bridge.workDir;
  }

  /** Enrolls an agent whose gateway list is its own proxy to each gateway. */
  private async addAgent(name: string, slots: number): Promise<void> {
    const links = await Promise.all(this.gatewayPorts.map((port, i) => TcpProxy.start({ name: `${name}-gw${i + 1}`, target: { host: "127.0.0.1", port } })));
    const handle = await this.bridge.startAgent({ name, gatewayUrl: links.map((l) => `ws://127.0.0.1:${l.port}`).join(",") });
    await this.pool.execute("UPDATE agents SET slots = ? WHERE id = ?", [slots, handle.agentId]);
    this.agents.push({ ...handle, links });
  }

  /** Agents the API does not show ONLINE. */
  async offlineAgents(): Promise<string[]> {
    const res = await this.bridge.api("GET", "/v1/agents?limit=500");
    const online = new Set(((res.body?.items ?? []) as { id: string; status: string }[]).filter((a) => a.status === "ONLINE").map((a) => a.id));
    return this.agents.filter((a) => !online.has(a.agentId)).map((a) => a.agentId);
  }

  /** SIGKILLs (or stops) a service, waits `downMs`, starts it again; returns ms it was down. */
  async bounce(name: string, signal: NodeJS.Signals, downMs: number): Promise<number> {
    const t0 = Date.now();
    await this.bridge.child(name).stop(signal, 10_000);
    await new Promise((r) => setTimeout(r, downMs));
    await this.bridge.restartService(name);
    return Date.now() - t0;
  }

  /** Cuts every link of one agent (silently: a NAT or Wi-Fi drop, no RST). */
  cutAgent(agent: FaultAgent): void {
    for (const l of agent.links) l.blackhole();
  }

  restoreAgent(agent: FaultAgent): void {
    for (const l of agent.links) l.restore();
  }

  async stop(): Promise<void> {
    await this.pool.end().catch(() => undefined);
    await this.bridge.stop();
    for (const a of this.agents) for (const l of a.links) await l.close();
    await this.redisLink.close();
    await this.mysqlLink.close();
    await this.redis.stop();
    await this.env.cleanup();
  }
}

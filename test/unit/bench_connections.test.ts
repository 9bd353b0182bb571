import { describe, expect, it } from "vitest";
import { FRAMING, idleWireBytes, onlineLagP99Seconds, onlineLags, slope } from "../../loadtest/bench/connections/figures.ts";
import { agentsPerGateway, CONNECTION_FIGURES, connectionProblems, connectionReport } from "../../loadtest/bench/connections/connection_report.ts";
import { mergeStats } from "../../loadtest/bench/connections/fleet.ts";
import { rssPlotSvg } from "../../loadtest/bench/connections/rss_plot.ts";
import { presenceBatches } from "../../services/scheduler/src/handle_presence_entries.ts";
import type { ConnectionResults } from "../../loadtest/bench/connections/connection_bench.ts";
import type { StreamEntry } from "@labbridge/protocol";

// The connection bench's arithmetic: RSS slope, idle wire bytes with framing, ONLINE lag
// read off two curves, the report's figures and targets; and how a run of presence entries
// is cut into batches that keep each agent's order.

describe("slope", () => {
  it("is the least-squares bytes per connection, whatever the base", () => {
    expect(slope([{ x: 1000, y: 50e6 + 1000 * 700 }, { x: 2000, y: 50e6 + 2000 * 700 }, { x: 3000, y: 50e6 + 3000 * 700 }])).toBeCloseTo(700);
    expect(slope([{ x: 1000, y: 10 }, { x: 2000, y: 30 }, { x: 3000, y: 20 }])).toBeCloseTo(0.005);
    expect(slope([{ x: 1, y: 1 }])).toBeNaN();
  });
});

describe("idleWireBytes", () => {
  it("adds WebSocket, TLS and TCP/IP framing and the agent's bare ACKs to the payload, per agent per second", () => {
    // 10 agents for 5 s, one heartbeat (34 B) and one ack (24 B) each.
    const c = { framesOut: 10, framesIn: 10, bytesOut: 340, bytesIn: 240, pingsIn: 0 };
    const r = idleWireBytes(c, 10, 5);
    expect(r.payload).toBeCloseTo(11.6);
    const perExchange = 58 + (FRAMING.wsServer + FRAMING.tls + FRAMING.tcpIp) + (FRAMING.wsClient + FRAMING.tls + FRAMING.tcpIp) + FRAMING.tcpIp;
    expect(r.wire).toBeCloseTo(perExchange / 5);
    expect(idleWireBytes(c, 0, 5).wire).toBeNaN();
  });

  it("comes from the frames sent over the hold, whatever the interval: one exchange per 15 s idle beat fits 20 B/s", () => {
    // 1,000 agents held 60 s at the 15 s idle interval: four exchanges each (decision 0028).
    const c = { framesOut: 4000, framesIn: 4000, bytesOut: 4000 * 34, bytesIn: 4000 * 24, pingsIn: 0 };
    const r = idleWireBytes(c, 1000, 60);
    const perExchange = 58 + (FRAMING.wsServer + FRAMING.tls + FRAMING.tcpIp) + (FRAMING.wsClient + FRAMING.tls + FRAMING.tcpIp) + FRAMING.tcpIp;
    expect(perExchange).toBe(266);
    expect(r.wire).toBeCloseTo(266 / 15);
    expect(r.wire).toBeLessThan(20);
  });
});

describe("onlineLags", () => {
  it("matches the k-th welcome with the moment the ONLINE count first reached k", () => {
    const welcomes = [1000, 1100, 1200];
    const curve = [{ t: 1050, n: 0 }, { t: 1500, n: 2 }, { t: 3000, n: 3 }];
    expect(onlineLags(welcomes, curve)).toEqual([500, 400, 1800]);
    expect(onlineLagP99Seconds(welcomes, curve)).toBe(1.8);
  });

  it("is NaN when some agent never got ONLINE", () => {
    expect(onlineLagP99Seconds([1, 2], [{ t: 5, n: 1 }])).toBeNaN();
  });
});

describe("the connection report", () => {
  const results = {
    settings: { agents: 100 }, agents_connected: 100, gateway_rss_bytes_per_agent: 1500, ws_baseline_rss_bytes_per_agent: 9000,
    reconnect_storm_s: 12, online_lag_p99_s: 2, idle_agent_wire_bytes_per_s: 53, control_bytes_per_job: 1500,
    gateway_rss_points: [{ connections: 0, rss: 50 * 2 ** 20 }, { connections: 100, rss: 51 * 2 ** 20 }],
    ws_rss_points: [{ connections: 100, rss: 60 * 2 ** 20 }], uws_rss_points: [{ connections: 100, rss: 40 * 2 ** 20 }],
  } as unknown as ConnectionResults;

  it("carries every named figure at the top level and says which targets were met", () => {
    const r = connectionReport(results) as Record<string, unknown>;
    for (const k of CONNECTION_FIGURES) expect(typeof r[k]).toBe("number");
    const targets = r.connection_targets as { figure: string; met: boolean }[];
    expect(targets.filter((t) => !t.met).map((t) => t.figure)).toEqual(["idle_agent_wire_bytes_per_s"]);
    expect(connectionProblems(r)).toEqual([]);
  });

  it("names a missing figure and agents that were not all connected", () => {
    const r = connectionReport({ ...results, agents_connected: 90, reconnect_storm_s: NaN }) as Record<string, unknown>;
    expect(connectionProblems(r)).toEqual(["reconnect_storm_s is null, not a finite number ≥ 0", "only 90 of 100 agents were connected during the hold"]);
  });

  it("takes a negative RSS slope only from a smoke run, and a missing one from neither", () => {
    const r = connectionReport({ ...results, gateway_rss_bytes_per_agent: -512 }) as Record<string, unknown>;
    expect(connectionProblems(r)).toEqual(["gateway_rss_bytes_per_agent is -512, not a finite number ≥ 0"]);
    expect(connectionProblems(r, { smoke: true })).toEqual([]);
    const missing = connectionReport({ ...results, gateway_rss_bytes_per_agent: NaN }) as Record<string, unknown>;
    expect(connectionProblems(missing, { smoke: true })).toEqual(["gateway_rss_bytes_per_agent is null, not a finite number"]);
  });

  it("sizes a gateway from the slope", () => {
    expect(agentsPerGateway(1024, 2 ** 30)).toBe(2 ** 20);
  });

  it("plots RSS in MiB against connections, one line per server", () => {
    const svg = rssPlotSvg(results);
    expect([...svg.matchAll(/<polyline /g)]).toHaveLength(3);
    expect(svg).toContain("connected agents");
    expect(svg).not.toContain("log scale");
  });
});

describe("mergeStats", () => {
  it("adds the clients' counters and concatenates their samples", () => {
    const one = { connected: 2, welcomed: 2, welcomeTimes: [1, 2], rtts: [3], framesOut: 1, framesIn: 1, bytesOut: 34, bytesIn: 24, pingsIn: 0, retryHints: 1, connectErrors: 0, closes: { "1013": 1 } };
    const m = mergeStats([one, { ...one, closes: { "1013": 2, "1006": 1 } }]);
    expect(m).toMatchObject({ connected: 4, welcomed: 4, bytesOut: 68, retryHints: 2, closes: { "1013": 3, "1006": 1 } });
    expect(m.welcomeTimes).toEqual([1, 2, 1, 2]);
  });
});

describe("presenceBatches", () => {
  const e = (type: string, agent: string, session: string): StreamEntry =>
    ({ type, v: 1, agent_id: agent, ts: 1000, data: { session_id: session, gateway_id: "gw", connected_since: 1000 } }) as unknown as StreamEntry;

  it("keeps offlines before onlines in one batch until an agent's offline follows its own online", () => {
    const batches = presenceBatches([e("agent.offline", "a", "s0"), e("agent.online", "a", "s1"), e("agent.online", "b", "t1"), e("agent.offline", "b", "t1"), e("agent.online", "c", "u1")], 0);
    expect(batches.map((b) => [b.offline.map((o) => o.sessionId), b.online.map((o) => o.session.sessionId)])).toEqual([
      [["s0"], ["s1", "t1"]],
      [["t1"], ["u1"]],
    ]);
  });
});

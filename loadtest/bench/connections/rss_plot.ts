// The plot of docs/PERFORMANCE.md's connection section: resident memory against connected
// agents for the gateway, a plain `ws` server and bare uWS, from the bench's RSS steps.
import { plotSvg } from "../plot.ts";
import type { ConnectionResults, RssPoint } from "./connection_bench.ts";

const mb = (points: RssPoint[]) => points.map((p) => ({ x: p.connections, y: Math.round((p.rss / 2 ** 20) * 10) / 10 }));

/** SVG of RSS (MiB) against connections for the three servers. */
export function rssPlotSvg(r: ConnectionResults): string {
  return plotSvg("Server RSS against connected agents (one process)", [
    { name: "LabBridge gateway", color: "#1f77b4", points: mb(r.gateway_rss_points) },
    { name: "plain ws server", color: "#d62728", points: mb(r.ws_rss_points) },
    { name: "bare uWS (floor)", color: "#2ca02c", dashed: true, points: mb(r.uws_rss_points) },
  ], { x: "connected agents", y: "RSS (MiB", allowLog: false });
}

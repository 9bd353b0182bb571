// Prometheus text exposition for the few counters, gauges and histograms LabBridge keeps.
// Small enough to own: the byte counters are what prove that file bytes are not relayed.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`).join(",")}}` : "";
}

/** A named metric with optional labels. */
class Metric {
  protected readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly kind: "counter" | "gauge") {}

  /** Current value for a label set. */
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  /** Prometheus text lines for this metric. */
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [key, value] of this.values) lines.push(`${this.name}${key} ${value}`);
    return lines.join("\n");
  }
}

/** A value that only goes up. */
export class Counter extends Metric {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  /** Adds `by` (default 1). */
  inc(by = 1, labels: Labels = {}): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  /** Sets the value. */
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }
}

/** Counts of observations in cumulative buckets, with their sum (Prometheus histogram). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  /** Records one observation. */
  observe(value: number): void {
    this.buckets.forEach((le, i) => {
      if (value <= le) this.counts[i]! += 1;
    });
    this.sum += value;
    this.count += 1;
  }
  /** How many observations so far. */
  get total(): number {
    return this.count;
  }
  /** Prometheus text lines for this histogram. */
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket{le="${le}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join("\n");
  }
}

/** Something that renders its own exposition lines. */
interface Renderable {
  render(): string;
}

/** Gauges whose label sets are replaced as a whole at each refresh (e.g. jobs by state). */
export class GaugeSet extends Gauge {
  /** Replaces every label set with the given ones; a label set no longer given goes away. */
  replace(rows: { labels: Labels; value: number }[]): void {
    this.values.clear();
    for (const r of rows) this.set(r.value, r.labels);
  }
}

/** The metrics one process exposes on /metrics. */
export class Registry {
  private readonly metrics: Renderable[] = [];
  /** Registers and returns a counter. */
  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.metrics.push(c);
    return c;
  }
  /** Registers and returns a gauge. */
  gauge(name: string, help: string): Gauge {
    const g = new Gauge(name, help);
    this.metrics.push(g);
    return g;
  }
  /** Registers and returns a gauge whose label sets are replaced at each refresh. */
  gaugeSet(name: string, help: string): GaugeSet {
    const g = new GaugeSet(name, help);
    this.metrics.push(g);
    return g;
  }
  /** Registers and returns a histogram with the given upper bucket bounds. */
  histogram(name: string, help: string, buckets: number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.metrics.push(h);
    return h;
  }
  /** The whole exposition text. */
  render(): string {
    return this.metrics.map((m) => m.render()).join("\n") + "\n";
  }
}

/** Starts the once-a-minute info line with the given counters; returns a stop function. */
export function logCountersEvery(
  seconds: number,
  log: (fields: Record<string, number>, msg: string) => void,
  counters: Counter[],
): () => void {
  const timer = setInterval(() => {
    log(Object.fromEntries(counters.map((c) => [c.name, c.get()])), "byte counters");
  }, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** A running /metrics endpoint. */
export interface MetricsServer {
  port: number;
  close: () => Promise<void>;
}

/**
 * Serves GET /metrics (and /healthz) on its own port, for services with no HTTP server of
 * their own (scheduler, lease-reaper). `refresh` runs before each scrape, to read gauges
 * from the system of record; if it fails, the last values are served and `onError` hears.
 */
export async function serveMetrics(args: {
  registry: Registry; port: number; host: string; refresh?: () => Promise<void>; onError?: (err: Error) => void;
}): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || (path !== "/metrics" && path !== "/healthz")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      return;
    }
    void (args.refresh ?? (async () => undefined))()
      .catch((err: Error) => args.onError?.(err))
      .then(() => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(args.registry.render()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(args.port, args.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

// Prometheus text exposition for the few counters and gauges LabBridge keeps. Small enough
// to own: the byte counters are what prove that file bytes are not relayed.

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

/** The metrics one process exposes on /metrics. */
export class Registry {
  private readonly metrics: Metric[] = [];
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

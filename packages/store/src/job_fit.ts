// Whether an agent's free capacity can run a job: os, labels, and the GPUs the job asks
// for against the agent's GPUs no other attempt holds. Pure functions over plain data, so
// the planner, the commit's re-check and the tests all judge a fit the same way.

/** One GPU of an agent's inventory (`agents.gpus`); `index` is the position when an old agent left it out. */
export interface InventoryGpu {
  index: number;
  uuid?: string;
  name: string;
  memory_mb: number;
}

/** A GPU handed to an attempt, as the assignment names it. */
export interface HeldGpu {
  index: number;
  uuid?: string;
}

/** What a job asks of an agent, read defensively from the stored requirements. */
export interface Needs {
  os: string | null;
  labels: Record<string, string>;
  gpus: number;
  gpuMemoryMb: number;
  gpuName: string | null;
}

/** Reads the requirements of a stored spec (fields the API may not have checked yet are read with care). */
export function needsOf(requirements: unknown): Needs {
  const r = (requirements && typeof requirements === "object" ? requirements : {}) as Record<string, unknown>;
  const int = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
  return {
    os: typeof r.os === "string" && r.os ? r.os.toLowerCase() : null,
    labels: r.labels && typeof r.labels === "object" ? (r.labels as Record<string, string>) : {},
    gpus: int(r.gpus),
    gpuMemoryMb: int(r.gpu_memory_mb),
    gpuName: typeof r.gpu_name === "string" && r.gpu_name ? r.gpu_name.toLowerCase() : null,
  };
}

/** Parses `agents.gpus`, giving each GPU its index (old agents sent none: the position stands in). */
export function parseInventory(json: string | null | undefined): InventoryGpu[] {
  let list: unknown;
  try {
    list = JSON.parse(json || "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  return list.map((g: Record<string, unknown>, i) => ({
    index: typeof g?.index === "number" ? g.index : i,
    ...(typeof g?.uuid === "string" && g.uuid ? { uuid: g.uuid } : {}),
    name: typeof g?.name === "string" ? g.name : "",
    memory_mb: typeof g?.memory_mb === "number" ? g.memory_mb : 0,
  }));
}

/** Parses `attempts.gpus`. */
export function parseHeld(json: string | null | undefined): HeldGpu[] {
  try {
    const list = JSON.parse(json || "[]") as unknown;
    return Array.isArray(list) ? (list as HeldGpu[]).filter((g) => typeof g?.index === "number") : [];
  } catch {
    return [];
  }
}

/** True when an agent's os and labels satisfy the job (GPUs aside). */
export function osAndLabelsFit(needs: Needs, agent: { os: string; labels: Record<string, string> }): boolean {
  if (needs.os && needs.os !== agent.os.toLowerCase()) return false;
  for (const [k, v] of Object.entries(needs.labels)) if (agent.labels[k] !== v) return false;
  return true;
}

/**
 * The GPUs to give a job from the agent's free ones (lowest index first), `[]` for a job
 * that asks for none, or null when too few free GPUs qualify by memory and name.
 */
export function pickGpus(needs: Needs, free: InventoryGpu[]): HeldGpu[] | null {
  if (needs.gpus === 0) return [];
  const fitting = free
    .filter((g) => g.memory_mb >= needs.gpuMemoryMb && (!needs.gpuName || g.name.toLowerCase().includes(needs.gpuName)))
    .sort((a, b) => a.index - b.index);
  if (fitting.length < needs.gpus) return null;
  return fitting.slice(0, needs.gpus).map((g) => (g.uuid ? { index: g.index, uuid: g.uuid } : { index: g.index }));
}

/** An agent's capacity as the matcher sees it. */
export interface FreeAgent {
  id: string;
  gatewayId: string;
  os: string;
  labels: Record<string, string>;
  freeSlots: number;
  /** GPUs of its inventory no active attempt holds. */
  freeGpus: InventoryGpu[];
  lastAssignedAt: number | null;
}

/** The GPUs a job would get on this agent now, or null when it cannot run there now. */
export function fitOn(needs: Needs, agent: FreeAgent): HeldGpu[] | null {
  if (agent.freeSlots <= 0 || !osAndLabelsFit(needs, agent)) return null;
  return pickGpus(needs, agent.freeGpus);
}

/** Takes a slot and the given GPUs out of an agent's free capacity. */
export function takeCapacity(agent: FreeAgent, gpus: HeldGpu[]): void {
  agent.freeSlots -= 1;
  const taken = new Set(gpus.map((g) => g.index));
  agent.freeGpus = agent.freeGpus.filter((g) => !taken.has(g.index));
}

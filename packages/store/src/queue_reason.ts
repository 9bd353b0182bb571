// Why a PENDING job waits (API.md "Jobs" → `queue.reason`), worked out from the enrolled
// agents and the job's requirements alone: a pure function, so each reason is testable
// without a database, and the API and the metrics give the same answer.
import type { JobRequirements } from "@labbridge/protocol";
import type { QueueReasonCode } from "./job_view.ts";

/** What the queue reason needs to know of one enrolled, non-revoked agent. */
export interface AgentCapacity {
  id: string;
  os: string;
  labels: Record<string, string>;
  /** The GPU inventory from hello; `index` defaults to the position in the list. */
  gpus: { index?: number; name: string; memory_mb: number }[];
  slots: number;
  /** Attempts it holds now (ASSIGNED or RUNNING). */
  running: number;
  /** How many of its GPUs those attempts hold. */
  gpusHeld: number;
  /** Which GPUs are held, where known; without it, held GPUs are assumed to be ones the job could use. */
  heldGpuIndexes?: number[];
  /** ONLINE with a gateway: the scheduler can send it work. */
  online: boolean;
  paused: boolean;
}

/** A reason and a message for a person. */
export interface QueueReason {
  reason: QueueReasonCode;
  message: string;
}

interface Check {
  /** What an agent must have, as the message names it. */
  what: string;
  test: (agent: AgentCapacity) => boolean;
}

/** The OS names agents report, in the spelling jobs are stored with (job_spec.ts). */
export function normalizeAgentOs(os: string): string {
  const lower = os.trim().toLowerCase();
  return lower === "darwin" ? "macos" : lower;
}

/** The agent's GPUs that meet the job's name and memory requirements. */
export function fittingGpus(req: JobRequirements, agent: Pick<AgentCapacity, "gpus">): { index: number; name: string; memory_mb: number }[] {
  const name = req.gpu_name?.toLowerCase();
  return agent.gpus
    .map((g, i) => ({ index: g.index ?? i, name: g.name, memory_mb: g.memory_mb }))
    .filter((g) => (name === undefined || g.name.toLowerCase().includes(name)) && (req.gpu_memory_mb === undefined || g.memory_mb >= req.gpu_memory_mb));
}

// Name and memory qualify the GPUs a job is given; a job given none (stored before submit
// refused name or memory without a count) needs no GPU, as the scheduler reads it too.
function gpusNeeded(req: JobRequirements): number {
  return req.gpus ?? 0;
}

function gpuCheck(req: JobRequirements): Check | null {
  const need = gpusNeeded(req);
  if (need === 0) return null;
  let what = need === 1 ? "1 GPU" : `${need} GPUs`;
  if (req.gpu_name !== undefined) what += ` named like "${req.gpu_name}"`;
  if (req.gpu_memory_mb !== undefined) what += ` with ${req.gpu_memory_mb} MB`;
  return { what, test: (a) => fittingGpus(req, a).length >= need };
}

function checksOf(req: JobRequirements): Check[] {
  const checks: Check[] = [];
  if (req.os) {
    const os = req.os;
    checks.push({ what: `os "${os}"`, test: (a) => normalizeAgentOs(a.os) === os });
  }
  for (const [k, v] of Object.entries(req.labels ?? {})) checks.push({ what: `labels.${k} = "${v}"`, test: (a) => a.labels[k] === v });
  const gpu = gpuCheck(req);
  if (gpu) checks.push(gpu);
  return checks;
}

// Held GPUs of unknown index are counted against the fitting ones: a job told it waits for
// a busy GPU when one is in fact free is assigned at the next pass anyway, while the
// opposite mistake would say "fair share" for as long as the GPUs stay held.
function freeFittingGpus(req: JobRequirements, agent: AgentCapacity): number {
  const fitting = fittingGpus(req, agent);
  if (agent.heldGpuIndexes) {
    const held = new Set(agent.heldGpuIndexes);
    return fitting.filter((g) => !held.has(g.index)).length;
  }
  return Math.max(0, fitting.length - agent.gpusHeld);
}

/** True when the agent has a free slot and, for a job that asks for GPUs, enough free GPUs that fit. */
export function hasRoomFor(req: JobRequirements, agent: AgentCapacity): boolean {
  if (agent.running >= agent.slots) return false;
  const need = gpusNeeded(req);
  return need === 0 || freeFittingGpus(req, agent) >= need;
}

const agentsMatch = (n: number) => (n === 1 ? "1 agent matches" : `${n} agents match`);
const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

// "both are", "all 3 are", or "the 2 online are" when only some of the matching ones are meant.
function subject(n: number, of: number, which: string): string {
  if (n === of) return n === 1 ? "it is" : n === 2 ? "both are" : `all ${n} are`;
  return `the ${n} ${which} ${plural(n, "is", "are")}`;
}

/**
 * Why a job with these requirements waits, given every enrolled, non-revoked agent and
 * how many PENDING jobs the scheduler considers first (`ahead`).
 */
export function queueReason(req: JobRequirements, agents: AgentCapacity[], ahead: number): QueueReason {
  if (agents.length === 0) return { reason: "no_agent_matches", message: "no agent is enrolled" };
  const checks = checksOf(req);
  const matching = agents.filter((a) => checks.every((c) => c.test(a)));
  if (matching.length === 0) {
    const unmet = checks.find((c) => !agents.some((a) => c.test(a)));
    const message = unmet
      ? `no enrolled agent has ${unmet.what}`
      : `no enrolled agent has all of: ${checks.map((c) => c.what).join(", ")}`;
    return { reason: "no_agent_matches", message };
  }
  const n = matching.length;
  const online = matching.filter((a) => a.online);
  if (online.length === 0) return { reason: "no_agent_online", message: `${agentsMatch(n)}; ${subject(n, n, "")} offline` };
  const available = online.filter((a) => !a.paused);
  if (available.length === 0) return { reason: "agents_paused", message: `${agentsMatch(n)}; ${subject(online.length, n, "online")} paused` };
  const free = available.filter((a) => hasRoomFor(req, a));
  if (free.length === 0) return { reason: "agents_busy", message: `${agentsMatch(n)}; ${subject(available.length, n, "online and not paused")} busy` };
  const freeText = `${free.length} matching ${plural(free.length, "agent is", "agents are")} free`;
  return {
    reason: "waiting_for_fair_share",
    message: ahead > 0
      ? `${freeText}; ${ahead} ${plural(ahead, "job goes", "jobs go")} first under fair share`
      : `${freeText}; the scheduler takes this job next`,
  };
}

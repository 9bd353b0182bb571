// The matcher's plan, in memory: free capacity against PENDING jobs under fair share
// (docs/decisions/0015-fair-share.md). Between owners the one whose last assignment is
// oldest goes next (never assigned counts as oldest); within an owner, the candidates come
// in its own order. Each owner's next job that some free agent can run is given to the
// least recently assigned agent that can; a job nothing can run now is passed over, so it
// never holds back the jobs behind it.
import { fitOn, takeCapacity, type FreeAgent, type HeldGpu, type Needs } from "./job_fit.ts";
import { leastRecentlyAssigned } from "./free_capacity.ts";
import type { PendingCandidate } from "./pending_queue.ts";

/** One planned assignment. */
export interface PlannedMatch {
  jobId: string;
  owner: string;
  agentId: string;
  gpus: HeldGpu[];
}

/**
 * Plans assignments. `agents` is consumed (their free capacity shrinks as jobs are placed);
 * `candidates` are grouped by owner in each owner's order; `needs` maps a req_class to its
 * requirements; `lastUse` gives owners' last assignment times (absent: never).
 */
export function planMatches(args: {
  agents: FreeAgent[];
  candidates: PendingCandidate[];
  needs: Map<string, Needs>;
  lastUse: Map<string, number>;
  now: number;
}): PlannedMatch[] {
  const agents = [...args.agents].sort(leastRecentlyAssigned);
  const queues = new Map<string, PendingCandidate[]>();
  for (const c of args.candidates) queues.set(c.owner, [...(queues.get(c.owner) ?? []), c]);
  // Owners by last use; a tick keeps the order of assignments made in this pass.
  const owners = [...queues.keys()].map((owner) => ({ owner, last: args.lastUse.get(owner) ?? -Infinity, pos: 0 }));
  const byUse = (a: (typeof owners)[number], b: (typeof owners)[number]) => (a.last !== b.last ? (a.last < b.last ? -1 : 1) : a.owner < b.owner ? -1 : 1);
  // Kinds of job no agent can take any more in this pass (capacity only shrinks while planning).
  const stuck = new Set<string>();
  const plan: PlannedMatch[] = [];
  let tick = 0;
  while (owners.length > 0 && agents.some((a) => a.freeSlots > 0)) {
    owners.sort(byUse);
    const turn = owners[0]!;
    const queue = queues.get(turn.owner)!;
    let placed = false;
    while (turn.pos < queue.length && !placed) {
      const job = queue[turn.pos++]!;
      if (stuck.has(job.reqClass)) continue;
      const needs = args.needs.get(job.reqClass);
      if (!needs) continue;
      for (const agent of agents) {
        const gpus = fitOn(needs, agent);
        if (!gpus) continue;
        takeCapacity(agent, gpus);
        agent.lastAssignedAt = args.now + tick * 1e-3;
        plan.push({ jobId: job.id, owner: job.owner, agentId: agent.id, gpus });
        placed = true;
        break;
      }
      if (placed) agents.sort(leastRecentlyAssigned);
      else stuck.add(job.reqClass);
    }
    if (placed) turn.last = args.now + tick++ * 1e-3;
    else owners.shift();
  }
  return plan;
}

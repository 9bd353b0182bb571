// One step of the walk over attempts MySQL calls active, looking for ones whose lease is
// gone from Redis (Redis lost data: a restart beyond what AOF kept, a failover). Without a
// lease nothing would ever time such an attempt out. Each is given a fresh lease marked
// started (see Leases.restore): a live agent's heartbeats keep it, a lost agent's attempt
// fails at expiry instead of being re-run. An attempt that ended between the page read
// and the lease check (its lease released after its MySQL commit) is checked again in
// MySQL first; one ending later still is restored harmlessly: the reaper's fenced
// transition ignores it.
import type { ServiceContext } from "@labbridge/runtime";
import { activeAttemptsAfter, stillActive } from "@labbridge/store";

/** Where the walk is; it wraps around to the start after the last page. */
export interface LeaseAudit {
  afterId: string;
}

/** Checks one page of active attempts; returns true when there are more pages in this round. */
export async function restoreLostLeases(ctx: ServiceContext, audit: LeaseAudit, batch = 200): Promise<boolean> {
  const page = await activeAttemptsAfter(ctx.pool, audit.afterId, batch);
  audit.afterId = page.length === batch ? page[page.length - 1]!.id : "";
  const missing = await stillActive(ctx.pool, await ctx.leases.missing(page.map((a) => a.id)));
  const expiresAt = ctx.clock() + ctx.config.leaseTtlSeconds * 1000;
  for (const att of page) {
    if (!missing.has(att.id)) continue;
    if (await ctx.leases.restore(att.id, att.agentId, att.jobId, expiresAt)) {
      ctx.log.warn({ job_id: att.jobId, attempt_id: att.id, agent_id: att.agentId, state: att.state }, "lease missing from Redis, restored as started");
    }
  }
  return page.length === batch;
}

// Consumer of `<prefix>:agent-events`: agent presence and attempt reports from gateways
// and the reaper. Each report is applied as one fenced transition in MySQL; a duplicate
// or an out-of-date report matches no row and changes nothing.
import { isErrorCode, type Gpu, type OutputFile, type StreamEntry } from "@labbridge/protocol";
import { finishAttempt, markAgentOffline, markAgentOnline, startAttempt, unstartedAssignments, type AttemptResult } from "@labbridge/store";
import { appendEntry, Leases } from "@labbridge/streams";
import { publishTransition, type ServiceContext } from "@labbridge/runtime";
import { dispatchPending, sendAssignment, wakeMatcher } from "./dispatch.ts";

const OUTCOME = { "attempt.succeeded": "succeeded", "attempt.failed": "failed", "attempt.canceled": "canceled" } as const;

/** Handles one entry of the agent-events stream. */
export async function handleAgentEvent(ctx: ServiceContext, entry: StreamEntry): Promise<void> {
  const { data } = entry;
  const agentId = entry.agent_id;
  if (!agentId) return;
  const at = new Date(entry.ts || ctx.clock());
  switch (entry.type) {
    case "agent.online": {
      const changed = await markAgentOnline(ctx.pool, {
        agentId,
        gatewayId: String(data.gateway_id),
        sessionId: String(data.session_id),
        hostname: String(data.hostname ?? ""),
        gpus: (data.gpus as Gpu[]) ?? [],
        at: new Date(Number(data.connected_since) || at.getTime()),
      });
      if (changed) ctx.log.info({ agent_id: agentId, gateway_id: data.gateway_id, session_id: data.session_id }, "agent ONLINE");
      // An assignment sent to the gateway the agent left (or while it was mid-hello) would
      // otherwise wait for its lease to run out; send it again through the new session.
      for (const a of await unstartedAssignments(ctx.pool, agentId)) {
        const lease = await ctx.leases.get(a.attemptId);
        if (!lease || lease.agentId !== agentId || !Leases.isLive(lease, ctx.clock())) continue; // the reaper hands it back
        await sendAssignment(ctx, String(data.gateway_id), a);
        ctx.log.info({ agent_id: agentId, job_id: a.jobId, attempt_id: a.attemptId, gateway_id: data.gateway_id }, "assignment sent again after reconnect");
      }
      await dispatchPending(ctx);
      return;
    }
    case "agent.offline": {
      const changed = await markAgentOffline(ctx.pool, { agentId, sessionId: String(data.session_id), at });
      if (changed) ctx.log.info({ agent_id: agentId, session_id: data.session_id, cause: data.cause }, "agent OFFLINE");
      return;
    }
    case "agent.resumed":
    case "agent.updated": // new capacity: slots raised, labels changed (PATCH /v1/agents/{id})
      await dispatchPending(ctx);
      return;
    case "attempt.started": {
      if (!entry.job_id || !entry.attempt_id) return;
      const t = await startAttempt(ctx.pool, { jobId: entry.job_id, attemptId: entry.attempt_id, agentId, now: at });
      if (t) await publishTransition(ctx, t);
      return;
    }
    case "attempt.progress": {
      if (!entry.job_id) return;
      await appendEntry(ctx.redis, ctx.streams.jobEvents, {
        type: "job.progress", job_id: entry.job_id, attempt_id: entry.attempt_id, agent_id: agentId, ts: entry.ts, data: { message: data.message },
      });
      return;
    }
    case "attempt.succeeded":
    case "attempt.failed":
    case "attempt.canceled": {
      if (!entry.job_id || !entry.attempt_id) return;
      const error = data.error as { code?: unknown; message?: unknown } | null;
      const result: AttemptResult = {
        outcome: OUTCOME[entry.type],
        exitCode: typeof data.exit_code === "number" ? data.exit_code : null,
        error: error && isErrorCode(error.code) ? { code: error.code, message: String(error.message ?? "") } : null,
        // Entries from an older gateway list the outputs; current ones give their count and digest (recorded by the gateway).
        outputs: (data.outputs as OutputFile[]) ?? [],
        expectedOutputs: typeof data.output_count === "number" && typeof data.outputs_digest === "string"
          ? { count: data.output_count, digest: data.outputs_digest }
          : null,
      };
      // A paused agent hands back an assignment that raced its pause: nothing ran, so it goes back to the queue.
      if (result.error?.code === "agent_paused" && (await releaseUnstarted(ctx, agentId, entry.job_id, entry.attempt_id))) return;
      if (result.error?.code === "agent_stopped") {
        // First, so that the job this frees (or re-queues) is not handed straight back to it.
        await takeNoMoreWork(ctx, agentId, data.session_id, at);
        if (await releaseUnstarted(ctx, agentId, entry.job_id, entry.attempt_id)) return;
      }
      const t = await finishAttempt(ctx.pool, { jobId: entry.job_id, attemptId: entry.attempt_id, agentId, result, now: at });
      // The lease has done its work either way; a fenced-out report still must not keep it alive.
      await ctx.leases.release(entry.attempt_id);
      if (t) await publishTransition(ctx, t);
      // The freed capacity is matched by a pass this result does not wait for: results are
      // consumed in order, and each waiting out a whole pass made a burst of them queue up
      // (the bench's submit → SUCCEEDED grew to seconds at 50 jobs/s). The sweep covers a
      // wake-up lost with the process.
      wakeMatcher(ctx);
      return;
    }
    case "attempt.expired":
    case "agent.paused":
      // Audit entries: the reaper or the API already applied the change in MySQL.
      return;
    default:
      ctx.log.warn({ type: entry.type, agent_id: agentId }, "ignoring unknown agent event");
  }
}

/**
 * An agent_stopped report means the agent process is stopping: it ignores new assignments
 * until its socket closes, so each one would wait out a lease. It is marked OFFLINE at
 * once, fenced on the session the report came through: an agent that reconnected since is
 * left alone, and its hello brings it back ONLINE as usual.
 */
async function takeNoMoreWork(ctx: ServiceContext, agentId: string, sessionId: unknown, at: Date): Promise<void> {
  if (typeof sessionId !== "string" || !sessionId) return;
  if (await markAgentOffline(ctx.pool, { agentId, sessionId, at })) {
    ctx.log.info({ agent_id: agentId, session_id: sessionId, cause: "agent_stopping" }, "agent OFFLINE");
  }
}

/**
 * A stopping agent reports agent_stopped for assignments it never got to start. If the
 * lease was never marked started, nothing ran (docs/decisions/0003): the lease is ended now
 * and the reaper hands the job back (PENDING) on its next pass, a second rather than a
 * lease later. Its claim makes the started flag final, so a start racing this still fails
 * the attempt instead of re-running it. True when the report was taken as a release.
 */
async function releaseUnstarted(ctx: ServiceContext, agentId: string, jobId: string, attemptId: string): Promise<boolean> {
  const lease = await ctx.leases.get(attemptId);
  if (!lease || lease.agentId !== agentId || lease.started) return false;
  await ctx.leases.expireNow(agentId, attemptId, ctx.clock());
  ctx.log.info({ agent_id: agentId, job_id: jobId, attempt_id: attemptId }, "unstarted assignment released by a stopping agent");
  return true;
}

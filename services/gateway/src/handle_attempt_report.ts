// Attempt reports from the agent: start requests (the exactly-once gate), progress lines,
// chunks of outputs and the final result. Each is checked against the lease: only the
// agent holding a live lease on the attempt may start it or report it. Outputs go
// straight into MySQL (recordOutputs) before their chunk is acked; the final result's
// stream entry carries only their count and digest (docs/decisions/0011).
import {
  outputKey, outputsDigest, type AttemptResultData, type FinishedMessage, type OutputFile, type OutputsMessage, type ProgressMessage, type StartRequestMessage,
} from "@labbridge/protocol";
import { recordOutputs } from "@labbridge/store";
import { appendEntry, Leases } from "@labbridge/streams";
import { attemptsOf, sendTo, type AgentSocket } from "./agent_sessions.ts";
import { leaseExpiry, type GatewayContext } from "./gateway_context.ts";

const PROGRESS_MIN_INTERVAL_MS = 1000;

/**
 * How long a lease is held for a result that reached us in time, until the scheduler
 * records it and releases the lease. Far longer than a TTL, so a MySQL outage (the
 * scheduler cannot write) does not let the reaper fail an attempt that ended in time.
 */
export const RESULT_HOLD_MS = 10 * 60_000;

/** Grants a start only by marking the live lease started first, so the reaper never re-queues an attempt that may have run. */
export async function handleStartRequest(ctx: GatewayContext, ws: AgentSocket, msg: StartRequestMessage): Promise<void> {
  const agentId = ws.getUserData().agent!.id;
  const now = ctx.clock();
  const grant = await ctx.leases.markStarted(msg.attempt_id, agentId, now, leaseExpiry(ctx, now));
  if (grant === "refused") {
    ctx.log.info({ agent_id: agentId, attempt_id: msg.attempt_id }, "start refused: no live lease");
    sendTo(ws, { type: "attempt.abort", attempt_id: msg.attempt_id, reason: "start_refused" }, ctx.metrics.sent);
    return;
  }
  const lease = await ctx.leases.get(msg.attempt_id);
  if (lease) {
    await appendEntry(ctx.redis, ctx.streams.agentEvents, {
      type: "attempt.started", job_id: lease.jobId, attempt_id: msg.attempt_id, agent_id: agentId, ts: new Date(now).toISOString(), data: {},
    });
  }
  sendTo(ws, { type: "attempt.start_granted", attempt_id: msg.attempt_id }, ctx.metrics.sent);
}

/** Forwards a progress line, at most one per second per attempt. */
export async function handleProgress(ctx: GatewayContext, ws: AgentSocket, msg: ProgressMessage): Promise<void> {
  const data = ws.getUserData();
  const now = ctx.clock();
  const attempts = attemptsOf(data);
  if (now - (attempts.lastProgressAt?.get(msg.attempt_id) ?? 0) < PROGRESS_MIN_INTERVAL_MS) return;
  (attempts.lastProgressAt ??= new Map()).set(msg.attempt_id, now);
  const lease = await ctx.leases.get(msg.attempt_id);
  if (!lease || lease.agentId !== data.agent!.id) return;
  await appendEntry(ctx.redis, ctx.streams.agentEvents, {
    type: "attempt.progress", job_id: lease.jobId, attempt_id: msg.attempt_id, agent_id: lease.agentId, data: { message: msg.message },
  });
}

/** The first output whose key is not the one its path gives inside the attempt's prefix. */
function outsidePrefix(jobId: string, attemptId: string, outputs: readonly OutputFile[]): OutputFile | undefined {
  return outputs.find((o) => o.key !== outputKey(jobId, attemptId, o.path));
}

/**
 * Records one chunk of outputs and acks it. Refused (accepted: false) unless this agent holds
 * a live lease on the attempt, every key lies inside its prefix, and the attempt has not
 * ended in MySQL. A chunk sent again is recorded once and acked again.
 */
export async function handleOutputs(ctx: GatewayContext, ws: AgentSocket, msg: OutputsMessage): Promise<void> {
  const agentId = ws.getUserData().agent!.id;
  const log = ctx.log.child({ agent_id: agentId, attempt_id: msg.attempt_id });
  const ack = (accepted: boolean) => sendTo(ws, { type: "attempt.outputs_ack", attempt_id: msg.attempt_id, seq: msg.seq, accepted }, ctx.metrics.sent);
  const lease = await ctx.leases.get(msg.attempt_id);
  if (!lease || lease.agentId !== agentId || !Leases.isLive(lease, ctx.clock())) {
    log.info({ seq: msg.seq }, "outputs refused: the attempt is not leased to this agent");
    return void ack(false);
  }
  // A chunk may leave a key out: it is then the one the path gives.
  const outputs = msg.outputs.map((o): OutputFile => ({ ...o, key: o.key ?? outputKey(lease.jobId, msg.attempt_id, o.path) }));
  const bad = outsidePrefix(lease.jobId, msg.attempt_id, outputs);
  if (bad) {
    log.warn({ job_id: lease.jobId, path: bad.path, seq: msg.seq }, "outputs refused: key outside the attempt's prefix");
    sendTo(ws, { type: "error", code: "validation_failed", message: `Output "${bad.path}" has a key outside the attempt's prefix` }, ctx.metrics.sent);
    return void ack(false);
  }
  const recorded = await recordOutputs(ctx.pool, { jobId: lease.jobId, attemptId: msg.attempt_id, agentId, outputs });
  if (recorded !== "recorded") log.info({ seq: msg.seq }, "outputs refused: the attempt has already ended");
  else log.debug({ seq: msg.seq, outputs: msg.outputs.length }, "outputs recorded");
  ack(recorded === "recorded");
}

const EVENT = { succeeded: "attempt.succeeded", failed: "attempt.failed", canceled: "attempt.canceled" } as const;

/** Forwards the result of an attempt whose lease this agent still holds; a report after the lease ran out is too late. */
export async function handleFinished(ctx: GatewayContext, ws: AgentSocket, msg: FinishedMessage): Promise<void> {
  const data = ws.getUserData();
  const agentId = data.agent!.id;
  const now = ctx.clock();
  const log = ctx.log.child({ agent_id: agentId, attempt_id: msg.attempt_id });
  data.attempts?.lastProgressAt?.delete(msg.attempt_id);
  data.attempts?.logAllowances?.forget(msg.attempt_id);
  const lease = await ctx.leases.get(msg.attempt_id);
  const ack = (accepted: boolean) => sendTo(ws, { type: "attempt.report_ack", attempt_id: msg.attempt_id, accepted }, ctx.metrics.sent);
  if (!lease || lease.agentId !== agentId || !Leases.isLive(lease, now)) {
    log.info({ outcome: msg.outcome }, "report ignored: the attempt's lease is gone");
    return void ack(false);
  }
  const badKey = outsidePrefix(lease.jobId, msg.attempt_id, msg.outputs);
  if (badKey) {
    log.warn({ job_id: lease.jobId, path: badKey.path }, "report refused: output key outside the attempt's prefix");
    sendTo(ws, { type: "error", code: "validation_failed", message: `Output "${badKey.path}" has a key outside the attempt's prefix` }, ctx.metrics.sent);
    // Re-sending the same report would be refused again; the lease decides the attempt.
    return void ack(false);
  }
  // The atomic check: the lease must still be live now, and from here it is held while
  // the scheduler records the result, so the reaper cannot fail an attempt that ended in time.
  const lost = await ctx.leases.extend(agentId, [msg.attempt_id], now, now + Math.max(RESULT_HOLD_MS, ctx.config.leaseTtlSeconds * 1000));
  if (lost.length > 0) {
    log.info({ outcome: msg.outcome }, "report ignored: the attempt's lease ran out");
    return void ack(false);
  }
  // An older agent lists its outputs here: record them like a chunk, so the stream entry
  // stays small either way and the scheduler checks one count and digest.
  if (msg.outputs.length > 0) {
    const recorded = await recordOutputs(ctx.pool, { jobId: lease.jobId, attemptId: msg.attempt_id, agentId, outputs: msg.outputs });
    if (recorded !== "recorded") {
      log.info({ outcome: msg.outcome }, "report ignored: the attempt has already ended");
      return void ack(false);
    }
  }
  const outputCount = msg.output_count ?? msg.outputs.length;
  const outputsDigestHex = msg.outputs_digest ?? (await outputsDigest(msg.outputs));
  await appendEntry(ctx.redis, ctx.streams.agentEvents, {
    type: EVENT[msg.outcome], job_id: lease.jobId, attempt_id: msg.attempt_id, agent_id: agentId,
    ts: new Date(now).toISOString(),
    // The session lets the scheduler fence what it concludes about the agent (agent_stopped: it is going away).
    data: { exit_code: msg.exit_code, error: msg.error, output_count: outputCount, outputs_digest: outputsDigestHex, session_id: data.sessionId } satisfies AttemptResultData,
  });
  ack(true);
  log.info({ job_id: lease.jobId, outcome: msg.outcome, exit_code: msg.exit_code, outputs: outputCount }, "attempt reported");
}

// Presign requests: the agent asks for PUT URLs for its outputs and logs. Answered only
// for an attempt leased to the asking agent, only inside that attempt's prefix
// (`jobs/<job>/<attempt>/outputs/…` or `…/logs/…`), with a short expiry.
import { attemptPrefix, relativePathProblem, type PresignRequestMessage } from "@labbridge/protocol";
import { Leases } from "@labbridge/streams";
import { sendTo, type AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";

/** Answers one presign request. */
export async function handlePresign(ctx: GatewayContext, ws: AgentSocket, msg: PresignRequestMessage): Promise<void> {
  const agentId = ws.getUserData().agent!.id;
  const lease = await ctx.leases.get(msg.attempt_id);
  const fail = (code: "forbidden" | "validation_failed", message: string) =>
    sendTo(ws, { type: "presign.response", request_id: msg.request_id, uploads: [], error: { code, message } }, ctx.metrics.sent);
  if (!lease || lease.agentId !== agentId || !Leases.isLive(lease, ctx.clock())) {
    return void fail("forbidden", `Attempt "${msg.attempt_id}" is not leased to this agent`);
  }
  for (const f of msg.files) {
    const problem = relativePathProblem(f.path) ?? (/^(outputs|logs)\//.test(f.path) ? null : 'must start with "outputs/" or "logs/"');
    if (problem) return void fail("validation_failed", `Invalid upload path "${f.path}": ${problem}`);
  }
  const prefix = attemptPrefix(lease.jobId, msg.attempt_id);
  const uploads = msg.files.map((f) => {
    const key = prefix + f.path;
    const signed = ctx.storage.presignPut(key, ctx.config.presignSeconds);
    return { path: f.path, key, url: signed.url, method: "PUT" as const, headers: signed.headers };
  });
  sendTo(ws, { type: "presign.response", request_id: msg.request_id, uploads, error: null }, ctx.metrics.sent);
  ctx.log.info({ agent_id: agentId, attempt_id: msg.attempt_id, job_id: lease.jobId, files: uploads.length }, "upload urls presigned");
}

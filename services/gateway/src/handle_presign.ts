// Presign requests: the agent asks for PUT URLs for its outputs and logs. Answered only
// for an attempt leased to the asking agent, only inside that attempt's prefix
// (`jobs/<job>/<attempt>/outputs/…` or `…/logs/…`), with a short expiry. A file over the
// part size goes in parts (presign_answer.ts). A response never goes over the frame limit:
// a request whose URLs would not fit in one frame is answered with payload_too_large, and
// the agent asks again for fewer files at a time.
import { relativePathProblem, type PresignRequestMessage, type PresignResponseMessage } from "@labbridge/protocol";
import { Leases } from "@labbridge/streams";
import { sendTo, type AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";
import { presignAnswer, PresignProblem } from "./presign_answer.ts";

/** Answers one presign request. */
export async function handlePresign(ctx: GatewayContext, ws: AgentSocket, msg: PresignRequestMessage): Promise<void> {
  const agentId = ws.getUserData().agent!.id;
  const lease = await ctx.leases.get(msg.attempt_id);
  const fail = (code: "forbidden" | "validation_failed" | "payload_too_large", message: string) =>
    sendTo(ws, { type: "presign.response", request_id: msg.request_id, uploads: [], error: { code, message } }, ctx.metrics.sent);
  if (!lease || lease.agentId !== agentId || !Leases.isLive(lease, ctx.clock())) {
    return void fail("forbidden", `Attempt "${msg.attempt_id}" is not leased to this agent`);
  }
  for (const f of msg.files) {
    const problem = relativePathProblem(f.path) ?? (/^(outputs|logs)\//.test(f.path) ? null : 'must start with "outputs/" or "logs/"');
    if (problem) return void fail("validation_failed", `Invalid upload path "${f.path}": ${problem}`);
  }
  let answer: Awaited<ReturnType<typeof presignAnswer>>;
  try {
    answer = await presignAnswer({ storage: ctx.storage, presignSeconds: ctx.config.presignSeconds, partBytes: ctx.config.uploadPartBytes, jobId: lease.jobId, msg });
  } catch (error) {
    if (!(error instanceof PresignProblem)) throw error;
    if (error.code === "payload_too_large") ctx.log.warn({ agent_id: agentId, attempt_id: msg.attempt_id, files: msg.files.length }, "presign response too large; refused");
    return void fail(error.code, error.message);
  }
  for (const u of answer.started) {
    ctx.log.info({ agent_id: agentId, attempt_id: msg.attempt_id, job_id: lease.jobId, path: u.path, upload_id: u.uploadId, parts: u.parts }, "multipart upload started");
  }
  const { uploads } = answer;
  const response: PresignResponseMessage = { type: "presign.response", request_id: msg.request_id, uploads, error: null };
  sendTo(ws, response, ctx.metrics.sent);
  ctx.log.info({ agent_id: agentId, attempt_id: msg.attempt_id, job_id: lease.jobId, files: uploads.length }, "upload urls presigned");
}

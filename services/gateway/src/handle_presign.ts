// Presign requests: the agent asks for PUT URLs for its outputs and logs. Answered only
// for an attempt leased to the asking agent, only inside that attempt's prefix
// (`jobs/<job>/<attempt>/outputs/…` or `…/logs/…`), with a short expiry. A response never
// goes over the frame limit: a request whose URLs would not fit in one frame is answered
// with payload_too_large, and the agent asks again for fewer files at a time.
import { attemptPrefix, MAX_FRAME_BYTES, relativePathProblem, type PresignedUpload, type PresignRequestMessage, type PresignResponseMessage } from "@labbridge/protocol";
import { Leases } from "@labbridge/streams";
import { sendTo, type AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";

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
  const prefix = attemptPrefix(lease.jobId, msg.attempt_id);
  const uploads = msg.files.map((f): PresignedUpload => {
    const key = prefix + f.path;
    const signed = ctx.storage.presignPut(key, ctx.config.presignSeconds);
    // Compact: the agent knows the key (prefix + path) and the method; a URL is what it lacks.
    if (msg.compact) return Object.keys(signed.headers).length ? { path: f.path, url: signed.url, headers: signed.headers } : { path: f.path, url: signed.url };
    return { path: f.path, key, url: signed.url, method: "PUT", headers: signed.headers };
  });
  const response: PresignResponseMessage = { type: "presign.response", request_id: msg.request_id, uploads, error: null };
  const bytes = Buffer.byteLength(JSON.stringify(response));
  if (bytes > MAX_FRAME_BYTES) {
    ctx.log.warn({ agent_id: agentId, attempt_id: msg.attempt_id, files: uploads.length, bytes }, "presign response too large; refused");
    return void fail(
      "payload_too_large",
      `Upload URLs for ${uploads.length} files take ${bytes} bytes, over the ${MAX_FRAME_BYTES}-byte frame limit: ask for fewer files per request`,
    );
  }
  sendTo(ws, response, ctx.metrics.sent);
  ctx.log.info({ agent_id: agentId, attempt_id: msg.attempt_id, job_id: lease.jobId, files: uploads.length }, "upload urls presigned");
}

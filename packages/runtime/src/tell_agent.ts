// Commands to an agent go to the stream of whichever gateway holds its session now
// (DESIGN.md "Streams"); an agent connected nowhere is not told, and its lease or the
// next hello settles the matter instead.
import { appendEntry } from "@labbridge/streams";
import type { ServiceContext } from "./context.ts";

/** A stop command for one attempt. */
export interface StopCommand {
  type: "attempt.cancel" | "attempt.abort";
  jobId: string;
  attemptId: string;
  reason: "canceled" | "lease_lost" | "timeout";
}

/** Sends a stop command to the agent's current gateway; false when the agent is not connected. */
export async function tellAgent(ctx: ServiceContext, agentId: string, command: StopCommand): Promise<boolean> {
  const session = await ctx.presence.session(agentId);
  if (!session) return false;
  await appendEntry(ctx.redis, ctx.streams.gateway(session.gatewayId), {
    type: command.type,
    job_id: command.jobId,
    attempt_id: command.attemptId,
    agent_id: agentId,
    data: { reason: command.reason },
  });
  return true;
}

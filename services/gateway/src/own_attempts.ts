// Which attempt ids a session may hear about. A heartbeat or hello names the attempts the
// agent holds; a lease it cannot renew is either its own lost attempt (told `lease_lost`,
// as before) or an id it has no claim on (another agent's, or made up). Those are ignored:
// no abort frame and no log line each, only one warning per session, so a session naming
// foreign ids costs nothing beyond its rate limit.
import { attemptIdsOfAgent } from "@labbridge/store";
import { attemptsOf, type AgentSocket } from "./agent_sessions.ts";
import type { GatewayContext } from "./gateway_context.ts";

/** Most ids a session remembers as its own or not, so a session cannot grow them without bound. */
const MAX_REMEMBERED = 1000;

/** Of the attempts whose lease could not be renewed, those that were ever this agent's. */
export async function ownLostAttempts(ctx: GatewayContext, ws: AgentSocket, lost: string[]): Promise<string[]> {
  if (lost.length === 0) return [];
  const data = ws.getUserData();
  const agentId = data.agent!.id;
  const attempts = attemptsOf(data);
  const ownAttempts = (attempts.own ??= new Set());
  const foreignAttempts = (attempts.foreign ??= new Set());
  const unknown = lost.filter((id) => !ownAttempts.has(id) && !foreignAttempts.has(id));
  if (unknown.length > 0) {
    // An attempt's agent never changes, so the answer can be remembered for the session.
    const own = new Set(await attemptIdsOfAgent(ctx.pool, agentId, unknown));
    for (const id of unknown) {
      const set = own.has(id) ? ownAttempts : foreignAttempts;
      if (set.size < MAX_REMEMBERED) set.add(id);
    }
    const foreign = unknown.filter((id) => !own.has(id));
    if (foreign.length > 0 && !attempts.warnedForeign) {
      attempts.warnedForeign = true;
      ctx.log.warn({ agent_id: agentId, session_id: data.sessionId, foreign: foreign.length, sample: foreign.slice(0, 3) },
        "session names attempts that are not its own; ignoring them for the rest of the session");
    }
    return lost.filter((id) => ownAttempts.has(id) || own.has(id));
  }
  return lost.filter((id) => ownAttempts.has(id));
}

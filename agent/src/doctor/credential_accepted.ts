// "credential accepted": opens the agent endpoint with agent.json's credential and watches the
// socket for the gateway's verdict. The gateway authenticates at the upgrade and closes a
// refused socket at once with 4401 (unknown) or 4403 (revoked) (decision 0005). No hello is
// sent: a hello would announce this probe as the agent (the scheduler could assign it work),
// and it would be refused while the service holds the session anyway.
import { CLOSE_CODES } from "../../../packages/protocol/src/index.ts";
import { createLogger } from "../runtime/log.ts";
import { ConnectError, FrameSocket } from "../session/frame_socket.ts";
import { endpointUrl } from "../session/server_url.ts";
import { type Check, messageOf } from "./check.ts";

const quiet = createLogger(() => {});
const REENROLL = "ask for a new enrollment token and enroll again (remove agent.json first): labbridge-agent enroll --server … --token lbe_… --state-dir …";

export const credentialAccepted: Check = async (ctx) => {
  const name = "credential accepted";
  if (!ctx.identity) {
    return {
      name,
      status: "fail",
      detail: `"${ctx.stateDir}" is not enrolled (no agent.json)`,
      fix: `enroll: labbridge-agent enroll --server wss://… --token lbe_… --state-dir "${ctx.stateDir}"`,
    };
  }
  const failures: string[] = [];
  for (const server of ctx.servers) {
    let sock: FrameSocket;
    try {
      sock = await FrameSocket.connect(endpointUrl(server, "agent"), ctx.identity.credential, quiet, {
        signal: new AbortController().signal,
        timeoutMs: ctx.timeoutMs,
      });
    } catch (e) {
      const status = e instanceof ConnectError ? e.httpStatus : null;
      if (status === 401 || status === 403) return { name, status: "fail", detail: `${server} refused the credential (HTTP ${status})`, fix: REENROLL };
      failures.push(`${server}: ${messageOf(e)}`);
      continue;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const verdict = await Promise.race([sock.closed, new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), ctx.verdictMs))]);
    clearTimeout(timer);
    if (verdict === null) {
      sock.close(1000, "doctor done");
      return { name, status: "ok", detail: `${server} took the credential of agent ${ctx.identity.agent_id}` };
    }
    if (verdict.code === CLOSE_CODES.unauthorized) {
      return { name, status: "fail", detail: `${server} does not know this credential (close ${verdict.code})`, fix: REENROLL };
    }
    if (verdict.code === CLOSE_CODES.revoked) {
      return { name, status: "fail", detail: `${server} says the credential was revoked (close ${verdict.code})`, fix: REENROLL };
    }
    failures.push(`${server}: closed with ${verdict.code} ${verdict.reason}`.trim());
  }
  return { name, status: "fail", detail: `no gateway gave a verdict: ${failures.join("; ")}`, fix: 'fix "gateway reachable" first' };
};

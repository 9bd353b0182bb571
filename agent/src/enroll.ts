// `labbridge-agent enroll`: trade a one-time enrollment token for a long-lived credential.
// The token goes only in the Authorization header of the upgrade request (never in the URL
// or a frame) and neither it nor the credential is ever printed.
import { CLOSE_CODES, ID_PREFIX, isId } from "../../packages/protocol/src/index.ts";
import { readIdentity, StateError, writeIdentity } from "./agent_state.ts";
import { UsageError } from "./cli_args.ts";
import { ConnectError, FrameSocket } from "./frame_socket.ts";
import { errorText, type Logger } from "./log.ts";
import type { OsSeam } from "./os/os_seam.ts";
import { endpointUrl, isCleartextRemote, serverUrlProblem } from "./server_url.ts";
import { withTimeout } from "./timers.ts";

export interface EnrollArgs {
  server: string;
  token: string;
  stateDir: string;
  name: string | null;
  labels: Record<string, string>;
}

export interface EnrollDeps {
  os: OsSeam;
  log: Logger;
  hostname: () => string;
  timeoutMs?: number;
}

/** Returns the process exit code: 0 enrolled, 1 refused or unreachable. */
export async function enrollCommand(args: EnrollArgs, deps: EnrollDeps): Promise<number> {
  const { log, os } = deps;
  const problem = serverUrlProblem(args.server);
  if (problem) throw new UsageError(`--server ${problem}`);
  try {
    const existing = await readIdentity(args.stateDir);
    if (existing) {
      log.error("this state folder is already enrolled; remove agent.json to enroll again", { agent_id: existing.agent_id, state_dir: args.stateDir });
      return 1;
    }
  } catch (e) {
    if (!(e instanceof StateError)) throw e;
    log.warn("replacing a damaged agent.json", { error: e.message });
  }
  if (isCleartextRemote(args.server)) log.warn("gateway address is ws:// to a remote host: the token travels unencrypted", { server: args.server });

  const hostname = deps.hostname();
  const name = args.name ?? hostname;
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  let sock: FrameSocket;
  try {
    sock = await FrameSocket.connect(endpointUrl(args.server, "enroll"), args.token, log, { signal: stop.signal, timeoutMs });
  } catch (e) {
    clearTimeout(timer);
    if (e instanceof ConnectError && (e.httpStatus === 401 || e.httpStatus === 403)) {
      log.error("gateway refused the enrollment token", { status: e.httpStatus });
    } else log.error("cannot reach gateway to enroll", { server: args.server, error: errorText(e) });
    return 1;
  }
  try {
    sock.send({ type: "enroll", name, hostname, os: os.platformName(), labels: args.labels });
    const msg = await sock.receive(stop.signal);
    if (msg?.type === "enrolled") {
      if (!isId(msg.agent_id, ID_PREFIX.agent) || typeof msg.credential !== "string" || !msg.credential) {
        log.error("gateway answered enroll with an unusable identity");
        return 1;
      }
      await writeIdentity(args.stateDir, { server: args.server, agent_id: msg.agent_id, credential: msg.credential, name }, os);
      log.info("enrolled", { agent_id: msg.agent_id, name, state_dir: args.stateDir });
      return 0;
    }
    if (msg?.type === "error") {
      log.error("gateway refused enrollment", { code: msg.code, message: msg.message });
      return 1;
    }
    if (msg) {
      log.error("unexpected answer to enroll", { type: msg.type });
      return 1;
    }
    if (stop.signal.aborted) {
      log.error("gateway did not answer enroll in time", { timeout_ms: timeoutMs });
      return 1;
    }
    const close = await sock.closed;
    if (close.code === CLOSE_CODES.unauthorized || close.code === CLOSE_CODES.revoked) {
      log.error("gateway refused the enrollment token", { code: close.code, reason: close.reason });
    } else log.error("gateway closed the connection during enrollment", { code: close.code, reason: close.reason });
    return 1;
  } finally {
    clearTimeout(timer);
    sock.close(1000, "enrollment done");
    await withTimeout(sock.closed, 2_000, null);
  }
}

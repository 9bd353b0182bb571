// `labbridge-agent enroll`: trade a one-time enrollment token for a long-lived credential.
// The token goes only in the Authorization header of the upgrade request (never in the URL
// or a frame) and neither it nor the credential is ever printed. With several gateways,
// they are tried in the order given; every one of them is stored for `run`.
import { CLOSE_CODES, ID_PREFIX, isId } from "../../../packages/protocol/src/index.ts";
import { effectiveProxy, setUpProxy } from "./proxy_setup.ts";
import { DEFAULT_JOB_USER, defaultWorkRoot, readIdentity, StateError, workRootProblem, writeIdentity } from "../runtime/agent_state.ts";
import { type JobFlags, type ProxyFlags, UsageError } from "./cli_args.ts";
import { ConnectError, FrameSocket } from "../session/frame_socket.ts";
import { errorText, type Logger } from "../runtime/log.ts";
import type { OsSeam } from "../os/os_seam.ts";
import { endpointUrl, isCleartextRemote } from "../session/server_url.ts";
import { withTimeout } from "../runtime/timers.ts";

export interface EnrollArgs {
  /** Gateway addresses, tried in order until one answers. */
  servers: string[];
  token: string;
  stateDir: string;
  name: string | null;
  labels: Record<string, string>;
  /** Job settings kept in agent.json; null: the defaults (`<state-dir>-work`, labbridge-job, none). */
  jobs: JobFlags;
  /** Proxy kept in agent.json; absent or null fields: the environment decides. */
  proxy?: ProxyFlags;
}

export interface EnrollDeps {
  os: OsSeam;
  log: Logger;
  hostname: () => string;
  /** Per gateway: connecting plus waiting for the answer. */
  timeoutMs?: number;
}

/** One gateway's answer: a new identity, a refusal (final), or no answer (try the next one). */
type Answer = { kind: "enrolled"; agent_id: string; credential: string } | { kind: "refused" } | { kind: "unreachable" };

/** Returns the process exit code: 0 enrolled, 1 refused or unreachable. */
export async function enrollCommand(args: EnrollArgs, deps: EnrollDeps): Promise<number> {
  const { log, os } = deps;
  if (args.servers.length === 0) throw new UsageError("missing --server");
  const workDir = args.jobs.workDir ?? defaultWorkRoot(args.stateDir);
  const workProblem = workRootProblem(args.stateDir, workDir);
  if (workProblem) throw new UsageError(workProblem);
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
  for (const server of args.servers) {
    if (isCleartextRemote(server)) log.warn("gateway address is ws:// to a remote host: the token travels unencrypted", { server });
  }

  const proxy = effectiveProxy(args.proxy ?? { proxy: null, noProxy: null }, {});
  setUpProxy(proxy, args.servers, log);
  const hostname = deps.hostname();
  const name = args.name ?? hostname;
  for (const server of args.servers) {
    const answer = await enrollAt(server, args, { name, hostname }, deps);
    // A gateway that answered decided for the whole deployment (they share one token store):
    // the token is refused or used up, so asking the next gateway cannot help.
    if (answer.kind === "refused") return 1;
    if (answer.kind === "unreachable") continue;
    await writeIdentity(args.stateDir, {
      servers: args.servers,
      agent_id: answer.agent_id,
      credential: answer.credential,
      name,
      work_dir: workDir,
      job_user: args.jobs.jobUser ?? DEFAULT_JOB_USER,
      pass_env: args.jobs.passEnv ?? [],
      ...proxy,
    }, os);
    log.info("enrolled", { agent_id: answer.agent_id, name, server, state_dir: args.stateDir });
    return 0;
  }
  log.error("no gateway answered the enrollment", { servers: args.servers });
  return 1;
}

/** Enrolls through one gateway. The token goes only in the upgrade's Authorization header. */
async function enrollAt(server: string, args: EnrollArgs, who: { name: string; hostname: string }, deps: EnrollDeps): Promise<Answer> {
  const { log, os } = deps;
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  let sock: FrameSocket;
  try {
    sock = await FrameSocket.connect(endpointUrl(server, "enroll"), args.token, log, { signal: stop.signal, timeoutMs });
  } catch (e) {
    clearTimeout(timer);
    if (e instanceof ConnectError && (e.httpStatus === 401 || e.httpStatus === 403)) {
      log.error("gateway refused the enrollment token", { server, status: e.httpStatus });
      return { kind: "refused" };
    }
    log.warn("cannot reach gateway to enroll", { server, error: errorText(e) });
    return { kind: "unreachable" };
  }
  try {
    sock.send({ type: "enroll", name: who.name, hostname: who.hostname, os: os.platformName(), labels: args.labels });
    const msg = await sock.receive(stop.signal);
    if (msg?.type === "enrolled") {
      if (!isId(msg.agent_id, ID_PREFIX.agent) || typeof msg.credential !== "string" || !msg.credential) {
        log.error("gateway answered enroll with an unusable identity", { server });
        return { kind: "refused" };
      }
      return { kind: "enrolled", agent_id: msg.agent_id, credential: msg.credential };
    }
    if (msg?.type === "error") {
      log.error("gateway refused enrollment", { server, code: msg.code, message: msg.message });
      return { kind: "refused" };
    }
    if (msg) {
      log.error("unexpected answer to enroll", { server, type: msg.type });
      return { kind: "refused" };
    }
    if (stop.signal.aborted) {
      log.warn("gateway did not answer enroll in time", { server, timeout_ms: timeoutMs });
      return { kind: "unreachable" };
    }
    const close = await sock.closed;
    if (close.code === CLOSE_CODES.unauthorized || close.code === CLOSE_CODES.revoked) {
      log.error("gateway refused the enrollment token", { server, code: close.code, reason: close.reason });
      return { kind: "refused" };
    }
    log.warn("gateway closed the connection during enrollment", { server, code: close.code, reason: close.reason });
    return { kind: "unreachable" };
  } finally {
    clearTimeout(timer);
    sock.close(1000, "enrollment done");
    await withTimeout(sock.closed, 2_000, null);
  }
}

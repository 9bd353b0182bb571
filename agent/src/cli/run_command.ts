// `labbridge-agent run --state-dir <dir> [--server <list>] [--work-dir …] [--job-user …]
// [--pass-env …]`: the service entry point. The flags replace agent.json's values for this
// run only (agent.json is not rewritten), so operators can move gateways or change how jobs
// run without enrolling again.
import { acquireRunLock, type AgentIdentity, legacyWorkRoot, lockDownStateDir, readIdentity } from "../runtime/agent_state.ts";
import { Agent, defaultSources } from "../agent.ts";
import { readTelemetry } from "../telemetry/telemetry_loop.ts";
import { CLOSE_CODES } from "../../../packages/protocol/src/index.ts";
import { errorText, type Logger } from "../runtime/log.ts";
import type { OsSeam } from "../os/os_seam.ts";
import { watchParent } from "../runtime/lifeline.ts";
import { isCleartextRemote } from "../session/server_url.ts";
import type { Timings } from "../runtime/timings.ts";
import type { JobFlags, ProxyFlags } from "./cli_args.ts";
import { effectiveProxy, setUpProxy } from "./proxy_setup.ts";
import { jobSettings, JobSetupError, setUpJobs } from "../attempt/job_setup.ts";
import { sweepWork } from "../attempt/work_dir.ts";
import { ControlService } from "../control/control_service.ts";
import { statusTap } from "../control/status_tap.ts";
import { type YieldPolicy, yieldPolicyOf } from "../control/yield_policy.ts";

export interface RunDeps {
  os: OsSeam;
  log: Logger;
  timings: Timings;
  hostname: () => string;
  /** The wrapper process the agent lives and dies with (lifeline.ts); null or absent without one. */
  parentPid?: number | null;
}

export interface RunArgs {
  stateDir: string;
  /** Gateway addresses for this run instead of agent.json's; null keeps agent.json's. */
  servers: string[] | null;
  /** Job settings for this run instead of agent.json's; null fields keep agent.json's. */
  jobs: JobFlags;
  /** Proxy for this run instead of agent.json's; absent or null fields keep agent.json's. */
  proxy?: ProxyFlags;
  /** Yield settings for this run over agent.json's `yield`. */
  yieldFlags?: Partial<YieldPolicy>;
  /** The local control port for this run instead of agent.json's (or a free one). */
  controlPort?: number | null;
}

/** Exit codes: 0 stopped by a signal, 1 not enrolled / broken state, 3 credential refused or revoked. */
export const EXIT_REFUSED = 3;

export async function runCommand(args: RunArgs, deps: RunDeps): Promise<number> {
  const { stateDir } = args;
  let identity;
  try {
    identity = await readIdentity(stateDir);
  } catch (e) {
    deps.log.error("cannot read agent state", { state_dir: stateDir, error: errorText(e) });
    return 1;
  }
  if (!identity) {
    deps.log.error("agent is not enrolled; run `labbridge-agent enroll` first", { state_dir: stateDir });
    return 1;
  }
  const log = deps.log.child({ agent_id: identity.agent_id });
  if (args.servers) {
    log.info("gateway list from --server replaces the enrolled one for this run", { enrolled: identity.servers, servers: args.servers });
    identity = { ...identity, servers: args.servers };
  }
  setUpProxy(effectiveProxy(args.proxy ?? { proxy: null, noProxy: null }, identity), identity.servers, log);
  const lock = await acquireRunLock(stateDir);
  if (!lock) {
    log.error("another agent process is already running with this state folder", { state_dir: stateDir });
    return 1;
  }
  try {
    return await runLocked(stateDir, identity, args, log, deps);
  } finally {
    lock.close();
  }
}

async function runLocked(stateDir: string, identity: AgentIdentity, args: RunArgs, log0: Logger, deps: RunDeps): Promise<number> {
  const flags = args.jobs;
  // `agent status` reads the connection and the last error off the log lines (status_tap.ts).
  const tap = statusTap(log0, Date.now);
  const log = tap.log;
  for (const server of identity.servers) {
    if (isCleartextRemote(server)) log.warn("gateway address is ws:// to a remote host: the credential travels unencrypted", { server });
  }

  const stop = new AbortController();
  const signals = deps.os.shutdownSignals();
  let firstSignalAt = 0;
  const onSignal = (sig: Deno.Signal) => () => {
    // Only a signal counts as the first press: after a lost wrapper began the stop, a
    // signal is a request to stop, not a demand to leave the job trees running.
    if (firstSignalAt !== 0) {
      // A second Ctrl+C while stopping means "out now". One arriving within a second of the
      // first is the same keypress relayed by a wrapper (npm, a shell), not a second press.
      if (Date.now() - firstSignalAt < 1_000) return;
      log.warn("second stop signal; exiting without waiting", { signal: sig });
      Deno.exit(130);
    }
    firstSignalAt = Date.now();
    log.info("stop signal received; stopping", { signal: sig });
    stop.abort();
  };
  const handlers = signals.map((sig) => [sig, onSignal(sig)] as const);
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
  const lifeline = new AbortController();
  const parentPid = deps.parentPid;
  if (parentPid) {
    watchParent(parentPid, () => {
      if (stop.signal.aborted) return;
      log.warn("wrapper process gone; stopping", { parent_pid: parentPid });
      stop.abort();
    }, lifeline.signal);
  }
  try {
    await lockDownStateDir(stateDir, deps.os);
    let jobs;
    try {
      jobs = await setUpJobs({ stateDir, ...jobSettings(stateDir, identity, flags), agentEnv: Deno.env.toObject() }, deps.os, log);
    } catch (e) {
      if (!(e instanceof JobSetupError)) throw e;
      log.error(`cannot run jobs: ${e.message}`);
      return 1;
    }
    // Agents before 0009 kept work folders inside the state folder: sweep there too.
    await sweepWork([jobs.workRoot, legacyWorkRoot(stateDir)], deps.os, log);
    // Read once before the first hello, so it reports the GPUs; the agent reads them again periodically.
    let agent: Agent | null = null;
    const sources = defaultSources(deps.os, jobs.workRoot, () => agent?.jobPids() ?? []);
    const first = await readTelemetry(sources, log);
    const [gpus, host] = [first.gpus ?? [], first.host];
    log.info("agent starting", { servers: identity.servers, os: deps.os.platformName(), gpus: gpus.map((g) => g.name) });
    const policy = yieldPolicyOf(identity.yield, args.yieldFlags);
    const control = await ControlService.create({
      stateDir, port: args.controlPort ?? identity.control_port ?? 0, policy, owner: identity.control_owner ?? null, os: deps.os, log,
    });
    agent = new Agent({
      identity, jobs, os: deps.os, log, timings: deps.timings, hostname: deps.hostname(), gpus, host, sources,
      control: { pause: control.pause, watch: control.watch, onActivity: policy.onActivity },
    });
    const running = agent;
    await control.start({ connected: () => running.connected(), running: () => running.running(), gpus: () => running.gpus() }, tap.snapshot);
    let end;
    try {
      end = await agent.run(stop.signal);
    } finally {
      await control.close();
    }
    if (end.kind === "rejected") {
      const revoked = end.code === CLOSE_CODES.revoked;
      log.error(
        revoked ? "gateway says this agent was revoked; enroll it again to get a new credential" : "gateway refused this agent's credential; enroll it again",
        { code: end.code, reason: end.reason },
      );
      return EXIT_REFUSED;
    }
    log.info("agent stopped");
    return 0;
  } finally {
    lifeline.abort();
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  }
}

// `labbridge-agent status --state-dir <dir>`: what this folder is enrolled as, how its
// jobs would run, and, when the agent runs, its live state from the local control endpoint
// (`live`: gateway, session age, attempts, pause and its source, GPUs, last error); when it
// does not run, `live` is null and `running: false` says so. Prints one JSON line (never
// the credential or a control token); exit 0 when enrolled, 1 when not. Where jobs would run as the agent's own account, it says plainly that they can read
// the credential, so an admin never mistakes a developer setup for a fenced one.
import { agentFilePath, readIdentity } from "../runtime/agent_state.ts";
import { jobSettings } from "../attempt/job_setup.ts";
import { errorText } from "../runtime/log.ts";
import type { OsSeam } from "../os/os_seam.ts";
import { effectiveProxy, proxyInUse } from "./proxy_setup.ts";
import { callControl } from "../control/control_client.ts";

const NO_FLAGS = { workDir: null, jobUser: null, passEnv: null };

/** How jobs would run with this folder's settings, for people to read. */
async function jobsStatus(stateDir: string, identity: NonNullable<Awaited<ReturnType<typeof readIdentity>>>, os: OsSeam) {
  const settings = jobSettings(stateDir, identity, NO_FLAGS);
  const base = { work_dir: settings.workRoot, job_user: settings.jobUser, pass_env: settings.passEnv };
  try {
    const { account, warnings } = await os.resolveJobAccount(settings.jobUser, stateDir);
    if (account.kind === "separate") {
      return { ...base, runs_as: account.name, uid: account.uid, separate_account: true, warnings };
    }
    if (account.kind === "logon") return { ...base, runs_as: account.name, separate_account: true, warnings };
    return { ...base, separate_account: false, warnings: [`jobs can read this agent's credential: ${account.reason}`, ...warnings] };
  } catch (e) {
    return { ...base, separate_account: false, warnings: [`jobs cannot run: ${errorText(e)}`] };
  }
}

export async function statusCommand(stateDir: string, os: OsSeam, print: (line: string) => void): Promise<number> {
  try {
    const id = await readIdentity(stateDir);
    if (!id) {
      print(JSON.stringify({ enrolled: false, state_dir: stateDir }));
      return 1;
    }
    const jobs = await jobsStatus(stateDir, id, os);
    const proxy = proxyInUse(effectiveProxy({ proxy: null, noProxy: null }, id), id.servers[0]!);
    const live = await callControl(stateDir, "GET", "/v1/status");
    const running = live.kind === "ok"
      ? { running: true, live: live.body }
      : live.kind === "not_running"
      ? { running: false, live: null, note: "agent not running" }
      : { running: null, live: null, note: live.message };
    print(JSON.stringify({ enrolled: true, agent_id: id.agent_id, name: id.name, servers: id.servers, state_dir: stateDir, proxy, ...running, jobs }));
    return 0;
  } catch (e) {
    print(JSON.stringify({ enrolled: false, state_dir: stateDir, error: `${agentFilePath(stateDir)}: ${errorText(e)}` }));
    return 1;
  }
}

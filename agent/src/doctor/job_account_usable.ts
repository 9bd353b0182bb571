// "job account usable and able to see the GPU": resolves the job account as `run` would, then
// starts a real process as that account, the way jobs start (Linux: setpriv with the
// account's uid and groups; Windows: LogonUserW + CreateProcessAsUserW in a Job Object), and
// asks nvidia-smi for the GPUs from there. Where the agent itself sees no GPU it only checks
// that the account can run a program at all.
import { join } from "node:path";
import type { JobAccount, OsSeam } from "../os/os_seam.ts";
import { type Check, type CheckResult, messageOf, withDeadline } from "./check.ts";

/** The query jobs' view of the GPUs is read with (the agent's own inventory query, shorter). */
export const GPU_QUERY = ["nvidia-smi", "--query-gpu=index,name", "--format=csv,noheader"];

/** What one program run as the job account printed. */
export interface AccountRun {
  code: number;
  stdout: string;
}

/** Runs `argv` as `account` the way a job would start; `dir`: a folder the run may use. */
export async function runAsJobAccount(os: OsSeam, account: JobAccount, argv: string[], env: Record<string, string>, dir: string): Promise<AccountRun> {
  if (account.kind === "logon") {
    if (!os.spawnAsAccount) throw new Error("This OS cannot start programs as a logon account");
    const stdoutPath = join(dir, "stdout.log");
    const stderrPath = join(dir, "stderr.log");
    const attemptId = `doctor-${crypto.randomUUID().replace(/-/g, "")}`;
    const job = await os.spawnAsAccount({ argv, cwd: dir, env, stdoutPath, stderrPath, attemptId, account });
    const status = await job.status;
    await os.killLeftovers(job.pid);
    return { code: status.code, stdout: await Deno.readTextFile(stdoutPath).catch(() => "") };
  }
  if (account.kind !== "separate") throw new Error("Jobs run as the agent's own account");
  const runAs = { name: account.name, uid: account.uid, gid: account.gid, groups: account.groups };
  const spawn = os.jobSpawn(argv[0]!, argv.slice(1), env, runAs);
  const out = await new Deno.Command(spawn.program, {
    args: spawn.args,
    ...spawn.options,
    cwd: dir,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

/** The environment of the probe: what a job's PATH lookup and Windows' loader need. */
function probeEnv(env: Record<string, string>, platform: string): Record<string, string> {
  const keep = platform === "windows" ? ["PATH", "SYSTEMROOT", "WINDIR", "PATHEXT", "SYSTEMDRIVE"] : ["PATH"];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (keep.includes(k.toUpperCase())) out[k] = v;
  return out;
}

export const jobAccountUsable: Check = async (ctx): Promise<CheckResult> => {
  const name = "job account";
  const fix = "run `labbridge-agent service install` elevated: it creates the job account";
  let account: JobAccount;
  try {
    account = (await ctx.os.resolveJobAccount(ctx.jobUser, ctx.stateDir)).account;
  } catch (e) {
    return { name, status: "fail", detail: messageOf(e), fix };
  }
  if (account.kind === "agent") return { name, status: "fail", detail: account.reason, fix: `run the agent as the service (root / LocalSystem); ${fix}` };
  if (account.name !== ctx.jobUser) return { name, status: "fail", detail: `"${ctx.jobUser}" does not exist: jobs would run as "${account.name}"`, fix };
  const agentSeesGpus = (await ctx.os.readGpus().catch(() => ({ gpus: [] }))).gpus.length > 0;
  const platform = ctx.os.platformName();
  const argv = agentSeesGpus ? GPU_QUERY : platform === "windows" ? ["whoami"] : ["id", "-un"];
  // Inside the work folder where it exists: the folder jobs use, which the job account can already pass through.
  const workRootExists = await Deno.stat(ctx.workRoot).then((st) => st.isDirectory, () => false);
  const dir = await Deno.makeTempDir({ prefix: "lb-doctor-", dir: workRootExists ? ctx.workRoot : undefined });
  try {
    // The job account must be able to enter its folder (Linux: the temp folder is the agent's, 0700).
    if (account.kind === "separate") await Deno.chmod(dir, 0o755);
    const run = await withDeadline(
      runAsJobAccount(ctx.os, account, argv, probeEnv(ctx.env, platform), dir),
      ctx.timeoutMs * 3,
      `running ${argv[0]} as "${account.name}"`,
    );
    if (run.code !== 0) {
      return {
        name,
        status: "fail",
        detail: `"${account.name}" ran ${argv[0]}, which exited with ${run.code}`,
        fix: agentSeesGpus ? `give "${account.name}" access to the GPU (Linux: the video/render groups; Windows: read access to the driver folders)` : fix,
      };
    }
    if (!agentSeesGpus) return { name, status: "warn", detail: `"${account.name}" can run programs; no GPU to look for (see "GPUs visible")` };
    const seen = run.stdout.split(/\r?\n/).filter((l) => l.trim() !== "").length;
    if (seen === 0) {
      return {
        name,
        status: "fail",
        detail: `"${account.name}" sees no GPU, though the agent does`,
        fix: `give "${account.name}" access to the GPU device (video/render groups)`,
      };
    }
    return { name, status: "ok", detail: `"${account.name}" starts as jobs do and sees ${seen} GPU${seen === 1 ? "" : "s"}` };
  } catch (e) {
    return { name, status: "fail", detail: `cannot start a program as "${account.name}": ${messageOf(e)}`, fix };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
};

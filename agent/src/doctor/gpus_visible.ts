// "GPUs visible from this context": what nvidia-smi shows to this very process. On Windows
// the service runs in session 0 as LocalSystem, which may see another picture than an
// admin's desktop session; doctor says which account it ran as, so the admin knows whether
// the answer is the service's.
import { type Check, messageOf } from "./check.ts";

/** Who this process runs as, for people (USERNAME on Windows, the uid elsewhere). */
export function contextName(env: Record<string, string>, platform: string): string {
  if (platform === "windows") {
    return `${env.USERDOMAIN ?? "?"}\\${env.USERNAME ?? "?"}${env.SESSIONNAME ? ` (session ${env.SESSIONNAME})` : " (no session name: a service?)"}`;
  }
  return `uid ${Deno.uid() ?? "?"}`;
}

export const gpusVisible: Check = async (ctx) => {
  const name = "GPUs visible";
  const who = contextName(ctx.env, ctx.os.platformName());
  try {
    const reading = await ctx.os.readGpus();
    if (reading.failed) {
      return { name, status: "fail", detail: `nvidia-smi failed or hung, as ${who}`, fix: "run nvidia-smi by hand; reinstall or update the NVIDIA driver" };
    }
    if (reading.gpus.length === 0) {
      return {
        name,
        status: "fail",
        detail: `no GPU, as ${who}`,
        fix: ctx.os.platformName() === "windows"
          ? "install the NVIDIA driver; check from the service's context with `psexec -s labbridge-agent.exe doctor` (a desktop session may see what session 0 does not)"
          : "install the NVIDIA driver so that nvidia-smi lists the GPUs",
      };
    }
    return { name, status: "ok", detail: `${reading.gpus.map((g) => `${g.index}: ${g.name}`).join(", ")}, as ${who}` };
  } catch (e) {
    return { name, status: "fail", detail: messageOf(e), fix: "install the NVIDIA driver (nvidia-smi)" };
  }
};

// "state folder permissions": agent.json holds the credential, so the folder must admit
// SYSTEM and Administrators only (Linux: root, 0700). The check itself is the seam's.
import { type Check, messageOf } from "./check.ts";

export const stateFolderPermissions: Check = async (ctx) => {
  const name = "state folder permissions";
  try {
    const problem = await ctx.seam.stateFolderProblem(ctx.stateDir);
    if (problem === null) {
      return { name, status: "ok", detail: `"${ctx.stateDir}" admits ${ctx.seam.platform === "windows" ? "SYSTEM and Administrators" : "root"} only` };
    }
    return { name, status: "fail", detail: problem, fix: "run `labbridge-agent service install` again (elevated): it resets the folder's access" };
  } catch (e) {
    return { name, status: "fail", detail: messageOf(e), fix: "run doctor elevated (root / Run as administrator)" };
  }
};

// "service installed and running": the service host's own status (systemctl, WinSW).
import { serviceDefinition } from "../service/service_definition.ts";
import { type Check, messageOf } from "./check.ts";

export const serviceRunning: Check = async (ctx) => {
  const name = "service";
  try {
    const host = ctx.seam.host(serviceDefinition("labbridge-agent", ctx.stateDir));
    const st = await host.status();
    if (!st.installed) {
      return {
        name,
        status: "fail",
        detail: `not installed (${st.detail})`,
        fix: "labbridge-agent service install (elevated), then labbridge-agent service start",
      };
    }
    const logs = ctx.seam.platform === "windows" ? `"${ctx.stateDir}\\logs"` : "journalctl -u labbridge-agent";
    if (!st.running) {
      return { name, status: "fail", detail: `installed, not running (${st.detail})`, fix: `labbridge-agent service start; if it stops again, read ${logs}` };
    }
    return { name, status: "ok", detail: `${host.kind} says ${st.detail}` };
  } catch (e) {
    return { name, status: "fail", detail: messageOf(e), fix: "run doctor elevated" };
  }
};

// The Linux service host: writes the unit to /etc/systemd/system and drives it with
// systemctl. Where systemd is not running (a container, a CI box), install writes nothing,
// prints the unit and says so: the unit is still checked (parsed) by the caller.
import { join } from "node:path";
import { checked, type CommandRunner } from "./command_runner.ts";
import type { ServiceDefinition } from "./service_definition.ts";
import type { ServiceHost, ServiceState } from "./service_host.ts";
import { SYSTEMD_UNIT_DIR, systemdUnit } from "./systemd_unit.ts";

/** What the systemd host needs; `unitDir` and `systemdRunning` are injected so tests can point them elsewhere. */
export interface SystemdHostDeps {
  run: CommandRunner;
  unitDir?: string;
  /** Whether systemd is PID 1 here (sd_booted: /run/systemd/system exists). */
  systemdRunning?: () => boolean;
}

/** sd_booted(3): systemd runs when /run/systemd/system is a folder. */
export function systemdBooted(): boolean {
  try {
    return Deno.statSync("/run/systemd/system").isDirectory;
  } catch {
    return false;
  }
}

/** The systemd host for `def`. */
export function systemdHost(def: ServiceDefinition, deps: SystemdHostDeps): ServiceHost {
  const unitDir = deps.unitDir ?? SYSTEMD_UNIT_DIR;
  const booted = deps.systemdRunning ?? systemdBooted;
  const unitName = `${def.id}.service`;
  const path = join(unitDir, unitName);
  const text = systemdUnit(def);
  const needSystemd = (action: string) => {
    if (!booted()) throw new Error(`Cannot ${action} "${unitName}": systemd is not running on this machine`);
  };
  const systemctl = async (...args: string[]) => checked(`systemctl ${args.join(" ")}`, await deps.run("systemctl", args));
  return {
    kind: "systemd",
    definitionText: () => text,
    definitionPath: () => path,
    async install() {
      if (!booted()) return [`systemd is not running here: "${path}" not written; the unit follows`, text];
      await Deno.mkdir(unitDir, { recursive: true });
      await Deno.writeTextFile(`${path}.tmp`, text, { mode: 0o644 });
      await Deno.rename(`${path}.tmp`, path);
      await systemctl("daemon-reload");
      await systemctl("enable", unitName);
      return [`wrote "${path}"`, `enabled "${unitName}"`];
    },
    async uninstall() {
      needSystemd("uninstall");
      const done: string[] = [];
      // Stop and disable may fail on a unit that is already gone: that is the state we want.
      await deps.run("systemctl", ["disable", "--now", unitName]);
      try {
        await Deno.remove(path);
        done.push(`removed "${path}"`);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      await systemctl("daemon-reload");
      return [...done, `disabled "${unitName}"`];
    },
    async start() {
      needSystemd("start");
      await systemctl("start", unitName);
    },
    async stop() {
      needSystemd("stop");
      await systemctl("stop", unitName);
    },
    async status(): Promise<ServiceState> {
      if (!booted()) return { installed: false, running: false, detail: "systemd is not running on this machine" };
      const installed = await Deno.stat(path).then(() => true, () => false);
      if (!installed) return { installed: false, running: false, detail: `"${path}" does not exist` };
      const active = (await deps.run("systemctl", ["is-active", unitName])).stdout.trim();
      return { installed: true, running: active === "active", detail: active || "unknown" };
    },
  };
}

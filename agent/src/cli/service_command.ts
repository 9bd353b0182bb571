// `labbridge-agent service install | uninstall | start | stop | status | print`.
// install: state folder (SYSTEM/Administrators or root only) → job account → service
// definition written and registered. It does not enroll and does not start: the installer
// (agent/installer/install.ps1) enrolls into the folder this made, then starts the service.
// Each step prints one line for the admin; status prints one JSON line.
import { resolve } from "node:path";
import type { ServiceAction } from "./cli_args.ts";
import { agentFilePath, DEFAULT_JOB_USER } from "../runtime/agent_state.ts";
import type { ServiceSeam } from "../os/service_seam.ts";
import { DEFAULT_SERVICE_STATE_DIR, serviceDefinition, type ServicePlatformName } from "../service/service_definition.ts";
import { systemdUnit } from "../service/systemd_unit.ts";
import { winswXml } from "../service/winsw_xml.ts";

/** The binary the service starts: on Windows %BASE% (WinSW's own folder, where the agent's exe sits too). */
export function serviceExecutable(platform: ServicePlatformName, execPath: string): string {
  return platform === "windows" ? "%BASE%\\labbridge-agent.exe" : execPath;
}

/** Linux's default binary path in a printed unit (where the README puts it). */
const LINUX_BINARY = "/usr/local/bin/labbridge-agent";

/** Whether `execPath` is the deno CLI rather than the compiled agent (a service must start the binary). */
export function isDenoCli(execPath: string): boolean {
  return /(^|[\\/])deno(\.exe)?$/i.test(execPath);
}

export interface ServiceCommandArgs {
  action: ServiceAction;
  stateDir: string | null;
  jobUser: string | null;
  platform: ServicePlatformName | null;
}

export interface ServiceCommandDeps {
  seam: ServiceSeam;
  execPath: string;
  print: (line: string) => void;
}

/** Runs one service action; returns the exit code (0 ok, 1 failed). Throws only on a bug. */
export async function serviceCommand(args: ServiceCommandArgs, deps: ServiceCommandDeps): Promise<number> {
  const { seam, print } = deps;
  if (args.action === "print") {
    const platform = args.platform ?? seam.platform;
    const stateDir = args.stateDir ?? DEFAULT_SERVICE_STATE_DIR[platform];
    // The running binary on its own platform; otherwise where the README installs it.
    const ownLinuxBinary = platform === "linux" && seam.platform === "linux" && !isDenoCli(deps.execPath);
    const exe = platform === "windows" ? serviceExecutable("windows", "") : ownLinuxBinary ? deps.execPath : LINUX_BINARY;
    const def = serviceDefinition(exe, stateDir);
    // print adds the line end the text already has.
    print((platform === "windows" ? winswXml(def) : systemdUnit(def)).replace(/\n$/, ""));
    return 0;
  }
  // WinSW expands %ProgramData% itself; the folder we create needs it expanded now.
  const stateDir = args.stateDir ? resolve(args.stateDir) : seam.defaultStateDir();
  if (args.action !== "status" && !(await seam.isElevated())) {
    print(`error: service ${args.action} needs ${seam.platform === "windows" ? "an elevated prompt (Run as administrator)" : "root (sudo)"}`);
    return 1;
  }
  if (args.action === "install" && isDenoCli(deps.execPath)) {
    print(`error: service install must be run from the compiled agent (labbridge-agent), not from deno at "${deps.execPath}"`);
    return 1;
  }
  // The default folder goes into the definition unexpanded (%ProgramData% for WinSW to expand); one given is written as given.
  const def = serviceDefinition(serviceExecutable(seam.platform, deps.execPath), args.stateDir ? stateDir : DEFAULT_SERVICE_STATE_DIR[seam.platform]);
  const host = seam.host(def);
  try {
    switch (args.action) {
      case "install": {
        for (const line of await seam.restrictStateFolder(stateDir)) print(line);
        for (const line of await seam.ensureJobAccount(args.jobUser ?? DEFAULT_JOB_USER, stateDir)) print(line);
        for (const line of await host.install()) print(line);
        print(`next: labbridge-agent enroll --server wss://… --token lbe_… --state-dir "${stateDir}", then labbridge-agent service start`);
        return 0;
      }
      case "uninstall":
        for (const line of await host.uninstall()) print(line);
        print(`kept "${stateDir}" (credential, job account file) and the job account; remove them by hand to forget this machine`);
        return 0;
      case "start":
        // An unenrolled agent exits 1 at once and the host restarts it forever: say what is missing instead.
        if (!(await Deno.stat(agentFilePath(stateDir)).then(() => true, () => false))) {
          print(`error: "${stateDir}" is not enrolled: labbridge-agent enroll --server wss://… --token lbe_… --state-dir "${stateDir}" first (or pass the service's own --state-dir)`);
          return 1;
        }
        await host.start();
        print(`started "${def.id}"`);
        return 0;
      case "stop":
        await host.stop();
        print(`stopped "${def.id}"`);
        return 0;
      case "status": {
        const st = await host.status();
        print(JSON.stringify({ service: def.id, host: host.kind, definition: host.definitionPath(), ...st }));
        return st.installed && st.running ? 0 : 1;
      }
    }
  } catch (e) {
    print(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

// The Windows service host: WinSW (the renamed labbridge-agent-service.exe beside the agent's
// exe) reads labbridge-agent-service.xml next to itself. install writes that XML and runs
// `labbridge-agent-service.exe install`; the other commands map one to one. Only a real
// Windows box runs WinSW (docs/WINDOWS-CHECKLIST.md); here it is driven through a recording runner.
import { join } from "node:path";
import { checked, type CommandRunner } from "./command_runner.ts";
import type { ServiceDefinition } from "./service_definition.ts";
import type { ServiceHost, ServiceState } from "./service_host.ts";
import { winswXml } from "./winsw_xml.ts";

/** WinSW's executable name in the package: WinSW-x64.exe renamed, so its XML is found by name. */
export const WINSW_EXE = "labbridge-agent-service.exe";

/** What the WinSW host needs: the runner, and the folder holding both executables. */
export interface WinswHostDeps {
  run: CommandRunner;
  installDir: string;
  writeTextFile?: (path: string, text: string) => Promise<void>;
  removeFile?: (path: string) => Promise<void>;
}

/**
 * Reads `WinSW status` output. v2.12 prints one word (Started, Stopped, NonExistent); v3
 * prints "Active (running)", "Inactive (stopped)" or "NonExistent". Anything else is unknown.
 */
export function parseWinswStatus(stdout: string): ServiceState {
  const word = stdout.trim().split(/\r?\n/).pop()?.trim() ?? "";
  if (/^NonExistent$/i.test(word)) return { installed: false, running: false, detail: word };
  if (/^Started$|running/i.test(word)) return { installed: true, running: true, detail: word };
  if (/^Stopped$|stopped|inactive/i.test(word)) return { installed: true, running: false, detail: word };
  return { installed: true, running: false, detail: word === "" ? "WinSW said nothing" : word };
}

/** The WinSW host for `def`. */
export function winswHost(def: ServiceDefinition, deps: WinswHostDeps): ServiceHost {
  const exe = join(deps.installDir, WINSW_EXE);
  const xmlPath = join(deps.installDir, WINSW_EXE.replace(/\.exe$/, ".xml"));
  const text = winswXml(def);
  const write = deps.writeTextFile ?? ((p, t) => Deno.writeTextFile(p, t));
  const remove = deps.removeFile ?? ((p) =>
    Deno.remove(p).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }));
  const winsw = async (command: string) => {
    const r = await deps.run(exe, [command]);
    if (r.code === null) throw new Error(`Cannot run "${exe}": it is missing (it ships in the agent's zip, next to labbridge-agent.exe)`);
    return r;
  };
  const host: ServiceHost = {
    kind: "winsw",
    definitionText: () => text,
    definitionPath: () => xmlPath,
    async install() {
      await write(xmlPath, text);
      const before = parseWinswStatus((await winsw("status")).stdout);
      // Installed already (a re-run of the installer): the XML is re-read at the next start.
      if (before.installed) return [`wrote "${xmlPath}"`, `service "${def.id}" was already installed`];
      checked(`${WINSW_EXE} install`, await winsw("install"));
      return [`wrote "${xmlPath}"`, `installed service "${def.id}"`];
    },
    async uninstall() {
      const st = parseWinswStatus((await winsw("status")).stdout);
      const done: string[] = [];
      if (st.running) {
        checked(`${WINSW_EXE} stop`, await winsw("stop"));
        done.push(`stopped service "${def.id}"`);
      }
      if (st.installed) {
        checked(`${WINSW_EXE} uninstall`, await winsw("uninstall"));
        done.push(`uninstalled service "${def.id}"`);
      }
      await remove(xmlPath);
      return [...done, `removed "${xmlPath}"`];
    },
    async start() {
      checked(`${WINSW_EXE} start`, await winsw("start"));
    },
    async stop() {
      checked(`${WINSW_EXE} stop`, await winsw("stop"));
    },
    async status() {
      const r = await deps.run(exe, ["status"]);
      if (r.code === null) return { installed: false, running: false, detail: `"${exe}" is missing` };
      return parseWinswStatus(r.stdout);
    },
  };
  return host;
}

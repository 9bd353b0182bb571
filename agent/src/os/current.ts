// Picks the OS seam for the machine the agent runs on.
import { linuxSeam } from "./linux.ts";
import type { OsSeam } from "./os_seam.ts";
import { windowsSeam } from "./windows.ts";
import { linuxServiceSeam } from "./linux_service.ts";
import type { ServiceSeam } from "./service_seam.ts";
import { installDirOf, windowsServiceSeam } from "./windows/windows_service.ts";
import { runCommandLine } from "../service/command_runner.ts";

export function currentOs(): OsSeam {
  return Deno.build.os === "windows" ? windowsSeam : linuxSeam;
}

/** The service seam for this machine, with the real command runner. */
export function currentServiceSeam(): ServiceSeam {
  return Deno.build.os === "windows"
    ? windowsServiceSeam({ run: runCommandLine, env: Deno.env.toObject(), installDir: installDirOf(Deno.execPath()) })
    : linuxServiceSeam({ run: runCommandLine });
}

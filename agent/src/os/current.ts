// Picks the OS seam for the machine the agent runs on.
import { linuxSeam } from "./linux.ts";
import type { OsSeam } from "./os_seam.ts";
import { windowsSeam } from "./windows.ts";

export function currentOs(): OsSeam {
  return Deno.build.os === "windows" ? windowsSeam : linuxSeam;
}

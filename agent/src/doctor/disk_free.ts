// "free disk in the work folder": inputs, checkpoints and outputs all land there.
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { type Check, messageOf } from "./check.ts";

const GIB = 1024 ** 3;

/** The folder itself, or its nearest parent that exists (the work folder is made at the first run). */
async function existingFolder(path: string): Promise<string> {
  for (let p = path;; p = dirname(p)) {
    try {
      await Deno.stat(p);
      return p;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || dirname(p) === p) throw e;
    }
  }
}

export const diskFree: Check = async (ctx) => {
  const name = "free disk";
  try {
    const folder = await existingFolder(ctx.workRoot);
    const st = await statfs(folder);
    const free = Number(st.bavail) * Number(st.bsize);
    const text = `${(free / GIB).toFixed(1)} GiB free in "${folder}" (work folder "${ctx.workRoot}")`;
    if (free < ctx.minFreeDiskBytes) {
      return {
        name,
        status: "fail",
        detail: `${text}, under ${(ctx.minFreeDiskBytes / GIB).toFixed(0)} GiB`,
        fix: "free space on that drive, or move the work folder: --work-dir <folder on a larger drive>",
      };
    }
    return { name, status: "ok", detail: text };
  } catch (e) {
    return {
      name,
      status: "fail",
      detail: `cannot read free space of "${ctx.workRoot}": ${messageOf(e)}`,
      fix: "make sure the work folder's drive is mounted",
    };
  }
};

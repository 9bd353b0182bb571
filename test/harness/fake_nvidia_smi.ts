// A stand-in nvidia-smi for machines without NVIDIA GPUs: a shell script that prints the
// CSV the agent asks for from files a test rewrites, so an agent put in front of it on
// PATH reports GPUs and live readings through the real gateway and API.
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One GPU as `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu` prints it. */
export interface FakeGpu {
  index: number;
  uuid: string;
  name: string;
  memoryMb: number;
  usedMb: number;
  utilization: number;
  temperature: number;
}

/** A fake nvidia-smi in its own folder. */
export interface FakeNvidiaSmi {
  dir: string;
  /** PATH with the fake first, for the agent's environment. */
  path: string;
  /** Sets what the next GPU query prints. */
  setGpus(gpus: FakeGpu[]): void;
  /** Sets what the next compute-apps query prints (raw CSV lines). */
  setApps(text: string): void;
  remove(): void;
}

/** Writes the fake; it starts with `gpus` and no compute apps. */
export function fakeNvidiaSmi(gpus: FakeGpu[]): FakeNvidiaSmi {
  const dir = mkdtempSync(join(tmpdir(), "lb-e2e-smi-"));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "nvidia-smi"), [
    "#!/bin/sh",
    'here=$(dirname "$0")',
    'case "$1" in --query-gpu=*) cat "$here/gpus.txt" ;; --query-compute-apps=*) cat "$here/apps.txt" ;; *) exit 9 ;; esac',
    "",
  ].join("\n"));
  chmodSync(join(dir, "nvidia-smi"), 0o755);
  // Replaced by rename, so the agent never reads a half-written file.
  const put = (name: string, text: string) => {
    writeFileSync(join(dir, `${name}.tmp`), text);
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
  };
  const smi: FakeNvidiaSmi = {
    dir,
    path: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    setGpus: (list) => put("gpus.txt", list.map((g) => `${g.index}, ${g.uuid}, ${g.name}, ${g.memoryMb}, ${g.usedMb}, ${g.utilization}, ${g.temperature}\n`).join("")),
    setApps: (text) => put("apps.txt", text),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  smi.setApps("");
  smi.setGpus(gpus);
  return smi;
}

// nvidia-smi parsing from captured output (Windows CRLF, Linux LF, [N/A] columns), and the
// real query through a fake nvidia-smi process first on PATH.
import {
  APPS_QUERY_ARGS, GPU_QUERY_ARGS, LEGACY_GPU_COLUMNS, parseComputeApps, parseNvidiaSmi, runNvidiaSmi,
} from "../src/os/nvidia_smi.ts";
import { assertEquals } from "./helpers/assert.ts";
import { installFakeNvidiaSmi } from "./helpers/fake_nvidia_smi.ts";
import { jobTreePids, type ProcInfo } from "../src/os/linux.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const H100 = "GPU-489be2f8-d1d0-cedf-cf80-c128e3153362";
const RTX = "GPU-5a1b2c3d-0e1f-2a3b-4c5d-6e7f8a9b0c1d";
const A6000 = "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

Deno.test("nvidia-smi: two GPUs from Windows output (CRLF) of the old query still parse, indexed by position", () => {
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-windows-2gpu.txt"), LEGACY_GPU_COLUMNS), [
    { index: 0, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, uuid: RTX, utilization_percent: 3 },
    { index: 1, name: "NVIDIA RTX A6000", memory_mb: 49140, uuid: A6000, utilization_percent: 100 },
  ]);
});

Deno.test("nvidia-smi: [N/A] utilization is left out, not guessed", () => {
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-linux-na.txt"), LEGACY_GPU_COLUMNS), [
    { index: 0, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, uuid: "GPU-9c2f4e1a-7b3d-4e5f-8a9b-0c1d2e3f4a5b" },
  ]);
});

Deno.test("nvidia-smi: a comma in the name, blank lines and garbage", () => {
  const out = "\nWeird, Name GPU, 8192, GPU-abc, 7\nNVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n\n";
  assertEquals(parseNvidiaSmi(out, LEGACY_GPU_COLUMNS), [{ index: 0, name: "Weird, Name GPU", memory_mb: 8192, uuid: "GPU-abc", utilization_percent: 7 }]);
  assertEquals(parseNvidiaSmi(""), []);
  // The name sits in the middle of the current query: its commas still land in the name.
  assertEquals(parseNvidiaSmi("3, GPU-abc, Weird, Name, GPU, 8192, 100, 7, 40\n"), [
    { index: 3, name: "Weird, Name, GPU", memory_mb: 8192, uuid: "GPU-abc", memory_used_mb: 100, utilization_percent: 7, temperature_c: 40 },
  ]);
});

Deno.test("nvidia-smi: at most 16 GPUs (the protocol's limit)", () => {
  const lines = Array.from({ length: 20 }, (_, i) => `${i}, GPU-1, NVIDIA H100, 81559, 0, 0, 30\n`).join("");
  assertEquals(parseNvidiaSmi(lines).length, 16);
});

Deno.test("nvidia-smi: a missing binary means no GPUs", async () => {
  assertEquals(await runNvidiaSmi(["/nonexistent/nvidia-smi-lb"]), { gpus: [], apps: [] });
});

Deno.test("nvidia-smi: output captured from a real H100 (driver 580.159.04, CUDA 13.0)", () => {
  // Captured on a lent GPU machine with the old --query-gpu flags (LEGACY_GPU_COLUMNS).
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-linux-h100-real.txt"), LEGACY_GPU_COLUMNS), [
    { index: 0, name: "NVIDIA H100 80GB HBM3", memory_mb: 81559, uuid: H100, utilization_percent: 0 },
  ]);
});

Deno.test("nvidia-smi: the current query gives index, uuid, name, memory total and used, utilization, temperature", () => {
  // Fixtures in the current query's format, built from the real captures' GPUs above.
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-linux-h100-readings.txt")), [
    { index: 0, name: "NVIDIA H100 80GB HBM3", memory_mb: 81559, uuid: H100, memory_used_mb: 0, utilization_percent: 0, temperature_c: 31 },
  ]);
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-windows-2gpu-readings.txt")), [
    { index: 0, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, uuid: RTX, memory_used_mb: 1843, utilization_percent: 3, temperature_c: 45 },
    { index: 1, name: "NVIDIA RTX A6000", memory_mb: 49140, uuid: A6000, memory_used_mb: 46210, utilization_percent: 100, temperature_c: 82 },
  ]);
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-linux-readings-na.txt")), [
    { index: 0, name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, uuid: "GPU-9c2f4e1a-7b3d-4e5f-8a9b-0c1d2e3f4a5b" },
  ]);
});

Deno.test("nvidia-smi: compute processes parse with their memory, or null where Windows (WDDM) says [N/A]", () => {
  assertEquals(parseComputeApps(fixture("nvidia-smi-linux-h100-apps.txt")), [
    { pid: 2216093, used_memory_mb: 70312, gpu_uuid: H100 },
    { pid: 2216120, used_memory_mb: 512, gpu_uuid: H100 },
  ]);
  assertEquals(parseComputeApps(fixture("nvidia-smi-windows-2gpu-apps.txt")), [
    { pid: 14232, used_memory_mb: null, gpu_uuid: RTX },
    { pid: 9812, used_memory_mb: null, gpu_uuid: A6000 },
  ]);
  assertEquals(parseComputeApps("No running processes found\n\n"), []);
});

Deno.test("nvidia-smi: the agent runs the GPU query and then the process query through the nvidia-smi on PATH", async () => {
  const smi = await installFakeNvidiaSmi(fixture("nvidia-smi-windows-2gpu-readings.txt"), fixture("nvidia-smi-windows-2gpu-apps.txt"));
  try {
    const r = await runNvidiaSmi(["nvidia-smi"]);
    assertEquals(r.gpus.map((g) => [g.index, g.uuid, g.memory_used_mb]), [[0, RTX, 1843], [1, A6000, 46210]]);
    assertEquals(r.apps.map((a) => a.pid), [14232, 9812]);
    assertEquals(await smi.calls(), [GPU_QUERY_ARGS.join(" "), APPS_QUERY_ARGS.join(" ")]);
  } finally {
    await smi.dispose();
  }
});

Deno.test("nvidia-smi: a driver that fails (nonzero exit) means no GPUs this time, marked failed, and no process query", async () => {
  const smi = await installFakeNvidiaSmi();
  try {
    await Deno.writeTextFile(`${smi.dir}/nvidia-smi`, `#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls.log"\necho "NVIDIA-SMI has failed" >&2\nexit 9\n`);
    assertEquals(await runNvidiaSmi(["nvidia-smi"]), { gpus: [], apps: [], failed: true });
    assertEquals((await smi.calls()).length, 1);
  } finally {
    await smi.dispose();
  }
});

Deno.test("job trees: a job's process group and every descendant are its own, even one that left the group; others are not", () => {
  const p = (pid: number, ppid: number, pgid: number): [number, ProcInfo] => [pid, { pid, ppid, pgid, state: "S", start: "1" }];
  const procs = new Map<number, ProcInfo>([
    p(1, 0, 1), // init
    p(100, 1, 100), // the job's main process (its own group leader)
    p(101, 100, 100), // a worker in its group
    p(102, 101, 102), // a grandchild that setsid'd away: still below the job
    p(103, 1, 100), // reparented to init but still in the job's group
    p(200, 1, 200), // someone at the desk
    p(201, 200, 200),
  ]);
  assertEquals([...jobTreePids(procs, [100])].sort((a, b) => a - b), [100, 101, 102, 103]);
  assertEquals([...jobTreePids(procs, [])], []);
});

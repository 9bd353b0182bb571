// nvidia-smi parsing from captured output (Windows CRLF, Linux LF, [N/A] columns).
import { parseNvidiaSmi, runNvidiaSmi } from "../src/os/nvidia_smi.ts";
import { assertEquals } from "./helpers/assert.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));

Deno.test("nvidia-smi: two GPUs from Windows output (CRLF)", () => {
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-windows-2gpu.txt")), [
    { name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, uuid: "GPU-5a1b2c3d-0e1f-2a3b-4c5d-6e7f8a9b0c1d", utilization_percent: 3 },
    { name: "NVIDIA RTX A6000", memory_mb: 49140, uuid: "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", utilization_percent: 100 },
  ]);
});

Deno.test("nvidia-smi: [N/A] utilization is left out, not guessed", () => {
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-linux-na.txt")), [
    { name: "NVIDIA GeForce RTX 4090", memory_mb: 24564, uuid: "GPU-9c2f4e1a-7b3d-4e5f-8a9b-0c1d2e3f4a5b" },
  ]);
});

Deno.test("nvidia-smi: a comma in the name, blank lines and garbage", () => {
  const out = "\nWeird, Name GPU, 8192, GPU-abc, 7\nNVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n\n";
  assertEquals(parseNvidiaSmi(out), [{ name: "Weird, Name GPU", memory_mb: 8192, uuid: "GPU-abc", utilization_percent: 7 }]);
  assertEquals(parseNvidiaSmi(""), []);
});

Deno.test("nvidia-smi: at most 16 GPUs (the protocol's limit)", () => {
  const line = "NVIDIA H100, 81559, GPU-1, 0\n";
  assertEquals(parseNvidiaSmi(line.repeat(20)).length, 16);
});

Deno.test("nvidia-smi: a missing binary means no GPUs", async () => {
  assertEquals(await runNvidiaSmi(["/nonexistent/nvidia-smi-lb"]), []);
});

Deno.test("nvidia-smi: output captured from a real H100 (driver 580.159.04, CUDA 13.0)", () => {
  // Captured on a lent GPU machine with the same --query-gpu flags the agent uses.
  assertEquals(parseNvidiaSmi(fixture("nvidia-smi-linux-h100-real.txt")), [
    { name: "NVIDIA H100 80GB HBM3", memory_mb: 81559, uuid: "GPU-489be2f8-d1d0-cedf-cf80-c128e3153362", utilization_percent: 0 },
  ]);
});

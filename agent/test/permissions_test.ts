// One source of truth for permission flags: permissions.json. The compile tasks and the
// test task in deno.json, and scripts/agent.mjs, must all use exactly those flags.
import { assert, assertEquals } from "./helpers/assert.ts";
// @ts-types="./helpers/agent_mjs.d.ts"
import { compileArgs, denoArgs, permissionFlags } from "../../scripts/agent.mjs";
import { ADVAPI32_PATH, KERNEL32_PATH } from "../src/os/windows/kernel32.ts";
import { IDLE_KERNEL32_PATH, USER32_PATH } from "../src/os/windows/user_idle.ts";

const agentDir = new URL("../", import.meta.url);
const permissions = JSON.parse(Deno.readTextFileSync(new URL("permissions.json", agentDir)));
const flags: string[] = permissions.flags;
const windowsFlags: string[] = permissions.windows_flags;
const tasks: Record<string, string> = JSON.parse(Deno.readTextFileSync(new URL("deno.json", agentDir))).tasks;

const permissionLike = (t: string) => t === "-A" || t.startsWith("--allow") || t.startsWith("--deny") || t === "--no-prompt";

Deno.test("permissions: narrow (no --allow-all, no --allow-ffi, --allow-sys only for hostname, uid and the host readings)", () => {
  assert(flags.length > 0);
  for (const bad of ["-A", "--allow-all", "--allow-ffi", "--allow-sys"]) assert(!flags.includes(bad), bad);
  // The agent reads its environment only to build a job's allow-list (job_env.ts); which
  // names --pass-env adds is known at run time only, so the flag cannot list them.
  assert(flags.includes("--allow-env"), "the job environment allow-list needs to read the agent's environment");
  // systemMemoryInfo, cpus and statfs: the memory, CPU and work-folder disk readings of heartbeats (host_readings.ts).
  assertEquals(flags.filter((f) => f.startsWith("--allow-sys")), ["--allow-sys=hostname,uid,systemMemoryInfo,cpus,statfs"]);
  assert(flags.includes("--no-prompt"), "a service must never stop at a permission prompt");
});

Deno.test("permissions: the Windows build may use FFI, and only on kernel32.dll, advapi32.dll and user32.dll by absolute path", () => {
  // A bare "kernel32.dll" in the flag would admit a DLL of that name planted in the current folder.
  assertEquals(windowsFlags, ["--allow-ffi=C:\\Windows\\System32\\kernel32.dll,C:\\Windows\\System32\\advapi32.dll,C:\\Windows\\System32\\user32.dll"]);
  assertEquals(windowsFlags[0], `--allow-ffi=${KERNEL32_PATH},${ADVAPI32_PATH},${USER32_PATH}`, "the paths the code opens");
  assertEquals(IDLE_KERNEL32_PATH, KERNEL32_PATH);
});

for (const [task, expected] of [["compile:linux", flags], ["compile:windows", [...flags, ...windowsFlags]], ["test", flags]] as const) {
  Deno.test(`permissions: deno.json task ${task} uses exactly permissions.json`, () => {
    const cmd = tasks[task];
    assert(cmd, `task ${task} exists`);
    assertEquals(cmd.split(/\s+/).filter(permissionLike), expected);
  });
}

Deno.test("permissions: compile tasks target the right platforms and outputs", () => {
  assert(tasks["compile:linux"]!.includes("--target x86_64-unknown-linux-gnu --output dist/labbridge-agent "));
  assert(tasks["compile:windows"]!.includes("--target x86_64-pc-windows-msvc --output dist/labbridge-agent.exe "));
  for (const t of ["compile:linux", "compile:windows"]) assert(tasks[t]!.trim().endsWith("src/main.ts"));
});

Deno.test("permissions: scripts/agent.mjs runs and tests with the same flags", () => {
  assertEquals(permissionFlags(), flags);
  const run = denoArgs(["run", "--state-dir", "/tmp/a"]);
  assertEquals(run[0], "run");
  assertEquals(run.filter(permissionLike), flags);
  assert(run.indexOf(flags[flags.length - 1]!) < run.findIndex((a: string) => a.endsWith("main.ts")), "flags come before the script");
  assertEquals(run.slice(-3), ["run", "--state-dir", "/tmp/a"]);
  assertEquals(denoArgs(["test"]).filter(permissionLike), flags);
  assertEquals(denoArgs(["check"])[0], "check");
});

Deno.test("permissions: the compile command package:agent runs is exactly deno.json's compile task", () => {
  for (const platform of ["linux", "windows"] as const) {
    assertEquals(["deno", ...compileArgs(platform)], tasks[`compile:${platform}`]!.split(/\s+/), platform);
  }
});

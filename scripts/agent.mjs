#!/usr/bin/env node
// Runs the Deno lab agent from the repository with the same permission flags the compiled
// binary gets. The flags live in agent/permissions.json only; agent/test/permissions_test.ts
// fails if deno.json's compile/test tasks drift from them.
//
//   node scripts/agent.mjs <agent args>   deno run <PERMS> agent/src/main.ts <agent args>
//   node scripts/agent.mjs check          deno check agent/src/main.ts
//   node scripts/agent.mjs test [args]    deno test <PERMS> agent/ [args]
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const agentDir = join(root, "agent");
const config = join(agentDir, "deno.json");

/**
 * The deno binary from the npm package. The real executable is preferred over the
 * node_modules/.bin entry: on Windows that entry is a .cmd shim Node cannot spawn without a
 * shell, and where the package fell back to its bin.cjs wrapper, a signal sent to the
 * wrapper would not reach the agent.
 */
export function denoCommand() {
  const exe = join(root, "node_modules", "deno", process.platform === "win32" ? "deno.exe" : "deno");
  if (existsSync(exe)) return { cmd: exe, pre: [] };
  if (process.platform === "win32") return { cmd: process.execPath, pre: [join(root, "node_modules", "deno", "bin.cjs")] };
  return { cmd: join(root, "node_modules", ".bin", "deno"), pre: [] };
}

/** The permission flags, from the one place they are declared. */
export function permissionFlags() {
  const { flags } = JSON.parse(readFileSync(join(agentDir, "permissions.json"), "utf8"));
  if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string" && f.startsWith("--"))) {
    throw new Error("agent/permissions.json: flags must be an array of --flags");
  }
  return flags;
}

/** The Windows-only flags (FFI to the two system DLLs, decision 0010), from the same file. */
export function windowsPermissionFlags() {
  const { windows_flags: flags } = JSON.parse(readFileSync(join(agentDir, "permissions.json"), "utf8"));
  if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string" && f.startsWith("--"))) {
    throw new Error("agent/permissions.json: windows_flags must be an array of --flags");
  }
  return flags;
}

/** Where and for which target `deno compile` builds each platform's binary (paths relative to agent/). */
export const COMPILE_TARGETS = {
  linux: { target: "x86_64-unknown-linux-gnu", output: "dist/labbridge-agent" },
  windows: { target: "x86_64-pc-windows-msvc", output: "dist/labbridge-agent.exe" },
};

/**
 * `deno compile` arguments for `platform` ("linux" | "windows"), run from agent/: exactly the
 * deno.json compile:* task (agent/test/permissions_test.ts checks they agree). deno compile
 * embeds the program into denort, which it downloads unless DENORT_BIN names one.
 */
export function compileArgs(platform) {
  const t = COMPILE_TARGETS[platform];
  if (!t) throw new Error(`No compile target for "${platform}"`);
  const extra = platform === "windows" ? windowsPermissionFlags() : [];
  return ["compile", "--target", t.target, "--output", t.output, ...permissionFlags(), ...extra, "src/main.ts"];
}

/**
 * The deno command line for the given agent.mjs arguments. `lifelineParent`: the pid the
 * agent lives and dies with (agent/src/runtime/lifeline.ts), passed ahead of the agent's own arguments.
 */
export function denoArgs(args, { lifelineParent = null } = {}) {
  const [first, ...rest] = args;
  if (first === "check") return ["check", "--config", config, join(agentDir, "src", "main.ts"), ...rest];
  if (first === "test") {
    // Extra arguments may name test files; without any, run all of the agent's tests.
    const namesFiles = rest.some((a) => !a.startsWith("-"));
    return ["test", "--config", config, ...permissionFlags(), ...rest, ...(namesFiles ? [] : [agentDir])];
  }
  const lifeline = lifelineParent ? [`--lifeline-parent=${lifelineParent}`] : [];
  return ["run", "--config", config, ...permissionFlags(), join(agentDir, "src", "main.ts"), ...lifeline, ...args];
}

/** How often the wrapper checks that whoever started it (npm, a shell) is still there. */
const PARENT_POLL_MS = 500;

// The wrapper and the agent live and die together:
// - POSIX: the agent gets its own process group, so a terminal's Ctrl+C reaches it once (the
//   forward below), not twice (terminal + forward), which it would read as "force quit".
//   Whatever ends this process, even a SIGKILL of its whole group, the agent notices through
//   its lifeline (it is re-parented) and does its graceful stop: kill jobs, report, exit.
// - SIGINT, SIGTERM and SIGHUP (terminal closed) are forwarded, one for one.
// - If whoever started us (npm, a shell) dies without a signal reaching us, we are
//   re-parented too: the agent is stopped as on SIGTERM, and we exit with it.
// - Windows has no process groups or POSIX signals: the console delivers Ctrl+C to the
//   agent itself, and Node could only kill it outright, so nothing is forwarded there.
function main() {
  const deno = denoCommand();
  const posix = process.platform !== "win32";
  const child = spawn(deno.cmd, [...deno.pre, ...denoArgs(process.argv.slice(2), { lifelineParent: posix ? process.pid : null })], {
    stdio: "inherit",
    cwd: process.cwd(),
    detached: posix,
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  let forwarded = false;
  const forward = (sig) => {
    if (!running()) return;
    forwarded = true;
    child.kill(sig);
  };
  if (posix) for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => forward(sig));
  const parent = process.ppid;
  const parentWatch = posix
    ? setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(parentWatch);
      // A signal already forwarded started the stop; a second one would read as "force quit".
      if (!forwarded) forward("SIGTERM");
    }, PARENT_POLL_MS)
    : null;
  child.on("error", (e) => {
    console.error(`cannot start deno (${deno.cmd}): ${e.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (parentWatch) clearInterval(parentWatch);
    if (signal) {
      // Die of the same signal, so a caller sees what happened to the agent.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();

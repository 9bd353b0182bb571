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
function denoCommand() {
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

/** The deno command line for the given agent.mjs arguments. */
export function denoArgs(args) {
  const [first, ...rest] = args;
  if (first === "check") return ["check", "--config", config, join(agentDir, "src", "main.ts"), ...rest];
  if (first === "test") {
    // Extra arguments may name test files; without any, run all of the agent's tests.
    const namesFiles = rest.some((a) => !a.startsWith("-"));
    return ["test", "--config", config, ...permissionFlags(), ...rest, ...(namesFiles ? [] : [agentDir])];
  }
  return ["run", "--config", config, ...permissionFlags(), join(agentDir, "src", "main.ts"), ...args];
}

function main() {
  const deno = denoCommand();
  // On POSIX the agent gets its own process group, so a terminal Ctrl+C reaches it once (the
  // forward below), not twice (terminal + forward), which it would read as "force quit".
  const child = spawn(deno.cmd, [...deno.pre, ...denoArgs(process.argv.slice(2))], {
    stdio: "inherit",
    cwd: process.cwd(),
    detached: process.platform !== "win32",
  });
  // Forward stop signals so the agent can end its job trees and close its socket cleanly.
  const forward = (sig) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, forward(sig));
  child.on("error", (e) => {
    console.error(`cannot start deno (${deno.cmd}): ${e.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
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

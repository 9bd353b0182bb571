// How the dev stack (and the tests) run the agent: `deno run` with the same permission flags as the
// compile tasks (one list, agent/permissions.json), and with no npm wrapper in between,
// so a SIGKILL reaches the agent process itself, as a crash would.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** The Deno binary shipped by the npm package `deno`. */
export const DENO_BIN = join(ROOT, "node_modules", "deno", "deno");

/** Permission flags of the agent, the single source shared with agent/deno.json's tasks. */
export function agentPermissions(): string[] {
  return (JSON.parse(readFileSync(join(ROOT, "agent", "permissions.json"), "utf8")) as { flags: string[] }).flags;
}

/** [command, args] that run the agent CLI with `args`. */
export function denoRunArgs(args: string[]): [string, string[]] {
  return [DENO_BIN, ["run", "--quiet", ...agentPermissions(), join(ROOT, "agent", "src", "main.ts"), ...args]];
}

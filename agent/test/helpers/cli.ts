// Runs the real CLI (agent/src/main.ts) as a separate Deno process with the production
// permission flags from permissions.json, exactly as scripts/agent.mjs does.
import { fileURLToPath } from "node:url";

const agentDir = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = `${agentDir}src/main.ts`;
export const CONFIG = `${agentDir}deno.json`;

export function permissionFlags(): string[] {
  return JSON.parse(Deno.readTextFileSync(`${agentDir}permissions.json`)).flags;
}

/** Spawns `labbridge-agent <args>` with piped stdout/stderr. */
export function spawnCli(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--config", CONFIG, ...permissionFlags(), MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs the CLI to completion. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await spawnCli(args).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Collects a running CLI's stdout lines as they come. */
export function collectLines(stream: ReadableStream<Uint8Array>): { lines: string[]; done: Promise<void> } {
  const lines: string[] = [];
  const done = (async () => {
    let partial = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + text).split("\n");
      partial = parts.pop()!;
      lines.push(...parts.filter((l) => l.length > 0));
    }
    if (partial) lines.push(partial);
  })();
  return { lines, done };
}

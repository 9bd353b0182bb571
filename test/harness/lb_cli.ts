// The real `lb` as a child process (node cli/bin/lb.mjs), with its own HOME and XDG folders
// so each test has its own config and upload state.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const LB_BIN = fileURLToPath(new URL("../../cli/bin/lb.mjs", import.meta.url));

/** What one run of `lb` did. */
export interface LbRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs), or undefined when it is not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A started `lb` whose output can be watched while it runs. */
export interface LbProcess {
  proc: ChildProcess;
  /** Resolves with the first stderr or stdout line that `match` accepts. */
  waitForLine(match: (line: string) => boolean): Promise<string>;
  done: Promise<LbRun>;
}

/** Starts `lb args…` with `env` (over a minimal PATH/HOME environment) and `stdin` piped in. */
export function startLb(args: string[], env: Record<string, string>, stdin?: string): LbProcess {
  const proc = spawn(process.execPath, [LB_BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  const scan = (text: string) => {
    for (const line of text.split("\n")) {
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  proc.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    scan(d.toString());
  });
  proc.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
    scan(d.toString());
  });
  proc.stdin!.end(stdin ?? "");
  const done = new Promise<LbRun>((resolve) =>
    proc.once("close", (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    }),
  );
  return { proc, done, waitForLine: (match) => new Promise((resolve) => waiters.push({ match, resolve })) };
}

/** Runs `lb args…` to the end. */
export function runLb(args: string[], env: Record<string, string>, stdin?: string): Promise<LbRun> {
  return startLb(args, env, stdin).done;
}

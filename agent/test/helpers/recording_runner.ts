// A CommandRunner that records each call and answers from a script, for the OS tools only a
// real Windows box (WinSW, icacls, PowerShell) or a running systemd would answer.
import type { CommandResult, CommandRunner } from "../../src/service/command_runner.ts";

export interface RecordedCall {
  program: string;
  args: string[];
  stdin?: string;
}

/** Records calls; `answer` gives each call's result (exit 0, no output when it returns undefined). */
export function recordingRunner(answer: (call: RecordedCall) => Partial<CommandResult> | undefined = () => undefined) {
  const calls: RecordedCall[] = [];
  const run: CommandRunner = (program, args, opts = {}) => {
    const call = { program, args, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) };
    calls.push(call);
    return Promise.resolve({ code: 0, stdout: "", stderr: "", ...answer(call) });
  };
  return { run, calls };
}

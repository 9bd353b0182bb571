// `pause`, `resume` and `snooze`: one request each to the running agent's local control
// endpoint (control/control_server.ts). Each prints one JSON line: the agent's status
// after the change, so the owner sees at once which pauses still hold (an admin's pause
// from the server is not lifted by `resume`). Exit codes: 0 done, 1 refused (no right to
// read control.json, bad input), 4 no agent runs on this state folder.
import { callControl, type ControlAnswer } from "../control/control_client.ts";

/** Exit code when no agent runs on the state folder. */
export const EXIT_NOT_RUNNING = 4;

function report(answer: ControlAnswer, print: (line: string) => void): number {
  switch (answer.kind) {
    case "ok":
      print(JSON.stringify(answer.body));
      return 0;
    case "refused":
      print(JSON.stringify({ error: answer.message }));
      return 1;
    case "not_running":
      print(JSON.stringify({ running: false, error: `agent not running: ${answer.why}` }));
      return EXIT_NOT_RUNNING;
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function pauseCommand(args: { stateDir: string; reason: string | null; untilMs: number | null }, print: (line: string) => void): Promise<number> {
  return report(await callControl(args.stateDir, "POST", "/v1/pause", { reason: args.reason, until: iso(args.untilMs) }), print);
}

export async function resumeCommand(args: { stateDir: string }, print: (line: string) => void): Promise<number> {
  return report(await callControl(args.stateDir, "POST", "/v1/resume", {}), print);
}

export async function snoozeCommand(args: { stateDir: string; untilMs: number | null }, print: (line: string) => void): Promise<number> {
  return report(await callControl(args.stateDir, "POST", "/v1/snooze", { until: iso(args.untilMs) }), print);
}

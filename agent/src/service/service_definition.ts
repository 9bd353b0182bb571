// What the service runs, in one place for both service hosts (WinSW on Windows, systemd on
// Linux): the agent's own binary with `run --state-dir <folder>`, and a stop budget derived
// from the agent's longest graceful stop, so neither host kills the agent while it is still
// reporting its jobs (README "Stopping"; agent/test/stop_test.ts).
import { maxStopMs } from "../agent.ts";
import { DEFAULT_TIMINGS, type Timings } from "../runtime/timings.ts";

/** The service's id: WinSW `<id>` and the systemd unit's name. */
export const SERVICE_ID = "labbridge-agent";

/** Where the service keeps its state folder by default, per platform. */
export const DEFAULT_SERVICE_STATE_DIR = {
  /** Expanded by WinSW (and by the installer) at install time; the folder itself is made by `service install`. */
  windows: "%ProgramData%\\LabBridge",
  linux: "/var/lib/labbridge",
} as const;

/** The platforms a service definition can be written for. */
export type ServicePlatformName = keyof typeof DEFAULT_SERVICE_STATE_DIR;

/** Everything a service definition needs to say. */
export interface ServiceDefinition {
  id: string;
  displayName: string;
  description: string;
  /** Absolute path of the agent binary the service starts. */
  executable: string;
  stateDir: string;
  /** How long the host waits after asking the agent to stop before it kills it. */
  stopTimeoutSec: number;
}

/** Room after the agent's longest stop for the process to exit and the host to notice. */
const STOP_SLACK_MS = 5_000;

/** The service host's stop timeout: the agent's longest stop plus slack, in whole tens of seconds. */
export function serviceStopTimeoutSec(timings: Timings = DEFAULT_TIMINGS): number {
  return Math.ceil((maxStopMs(timings) + STOP_SLACK_MS) / 10_000) * 10;
}

/** The definition for `executable` and `stateDir`, with the stop budget of the default timings. */
export function serviceDefinition(executable: string, stateDir: string): ServiceDefinition {
  return {
    id: SERVICE_ID,
    displayName: "LabBridge Agent",
    description: "Runs LabBridge ML jobs on this workstation. Connects out to the LabBridge gateway over a WebSocket; needs no inbound port.",
    executable,
    stateDir,
    stopTimeoutSec: serviceStopTimeoutSec(),
  };
}

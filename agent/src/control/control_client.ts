// The CLI's side of the local control endpoint: finds the port and token in the state
// folder's control.json and sends one request. "Not running" (no file, or nobody on the
// port) is told apart from a refusal, so `agent status` can fall back to what it knows.
import { readControlInfo } from "./control_file.ts";

export type ControlAnswer =
  | { kind: "ok"; body: unknown }
  /** The agent answered with an error (bad input, a token that does not fit). */
  | { kind: "refused"; status: number; message: string }
  /** No agent runs on this state folder (or it cannot be reached). */
  | { kind: "not_running"; why: string };

/** Sends one request to the agent running on `stateDir`. */
export async function callControl(stateDir: string, method: "GET" | "POST", path: string, body?: unknown, timeoutMs = 5_000): Promise<ControlAnswer> {
  let info;
  try {
    info = await readControlInfo(stateDir);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) {
      return { kind: "refused", status: 0, message: "cannot read control.json: only administrators (or the owner the admin allowed) may control the agent" };
    }
    throw e;
  }
  if (!info) return { kind: "not_running", why: "no control.json in the state folder" };
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${info.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${info.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    return { kind: "not_running", why: `nothing answers on 127.0.0.1:${info.port}: ${(e as Error).message}` };
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch { /* not ours */ }
  if (res.ok) return { kind: "ok", body: parsed };
  const message = (parsed as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${res.status}`;
  return { kind: "refused", status: res.status, message };
}

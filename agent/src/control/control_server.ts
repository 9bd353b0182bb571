// The local control endpoint: HTTP on 127.0.0.1 only (never another interface: nothing may
// reach a lab machine from outside, DESIGN.md rule 1), every request with
// `Authorization: Bearer <token>` from control.json (idle reports may use the narrower
// token of idle-report.json). A request carrying an Origin header is refused, so a web
// page the owner visits cannot drive the agent even if it guessed the port.
//
//   GET  /v1/status                      the live status (cli/control_commands.ts prints it)
//   POST /v1/pause  {reason?, until?}    the owner's pause (source local); until: RFC 3339
//   POST /v1/resume                      lifts the owner's pause only
//   POST /v1/snooze {until}              no automatic yielding until then (null: end it)
//   POST /v1/idle   {idle_seconds, session?}   a console session's idle time
import { timingSafeEqual } from "node:crypto";
import { isRfc3339, MAX_PAUSE_REASON } from "../../../packages/protocol/src/index.ts";

/** What the endpoint does; the agent implements it (control_service.ts). */
export interface ControlHandlers {
  status(): unknown;
  pause(reason: string | null, untilMs: number | null): unknown;
  resume(): unknown;
  snooze(untilMs: number | null): unknown;
  idle(idleMs: number, session: string | null): unknown;
}

export interface ControlServer {
  port: number;
  close(): Promise<void>;
}

/** Most bytes of a request body: these are tiny JSON objects. */
const MAX_BODY = 4096;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function error(status: number, code: string, message: string): Response {
  return json(status, { error: { code, message } });
}

function sameToken(given: string, want: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: Request): Promise<Record<string, unknown> | Response> {
  const text = await req.text();
  if (text.length > MAX_BODY) return error(413, "payload_too_large", `Body is larger than ${MAX_BODY} bytes`);
  if (text.trim() === "") return {};
  try {
    const v = JSON.parse(text);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
  } catch { /* answered below */ }
  return error(400, "malformed_json", "Body is not a JSON object");
}

function unknownField(body: Record<string, unknown>, known: string[]): Response | null {
  const bad = Object.keys(body).find((k) => !known.includes(k));
  return bad === undefined ? null : error(422, "unknown_field", `Field "${bad}" is not known: expected ${known.join(", ") || "none"}`);
}

function untilOf(v: unknown, field: string, nowMs: number): number | null | Response {
  if (v === undefined || v === null) return null;
  if (!isRfc3339(v)) return error(422, "validation_failed", `${field} "${String(v)}" must be an RFC 3339 time`);
  const ms = Date.parse(v);
  if (ms <= nowMs) return error(422, "validation_failed", `${field} "${v}" is in the past`);
  return ms;
}

/** Serves the endpoint on 127.0.0.1:`port` (0: any free port) until close(). */
export function startControlServer(
  opts: { port: number; token: string; reportToken: string; handlers: ControlHandlers; clock: () => number },
): Promise<ControlServer> {
  const { handlers, clock } = opts;
  const handle = async (req: Request): Promise<Response> => {
    if (req.headers.has("origin")) return error(403, "forbidden", "Requests from web pages are refused");
    const auth = req.headers.get("authorization") ?? "";
    const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
    const full = token !== "" && sameToken(token, opts.token);
    const reporter = !full && token !== "" && sameToken(token, opts.reportToken);
    if (!full && !reporter) return error(401, "invalid_token", "Missing or wrong token: read it from control.json in the state folder");
    const path = new URL(req.url).pathname;
    const routes: Record<string, string> = { "/v1/status": "GET", "/v1/pause": "POST", "/v1/resume": "POST", "/v1/snooze": "POST", "/v1/idle": "POST" };
    const method = routes[path];
    if (!method) return error(404, "not_found", `No such endpoint "${path}"`);
    if (req.method !== method) return new Response(null, { status: 405, headers: { allow: method } });
    if (reporter && path !== "/v1/idle") return error(403, "forbidden", "The idle-report token may only report idle time");
    const body = req.method === "POST" ? await readBody(req) : {};
    if (body instanceof Response) return body;
    switch (path) {
      case "/v1/status":
        return json(200, handlers.status());
      case "/v1/pause": {
        const bad = unknownField(body, ["reason", "until"]);
        if (bad) return bad;
        const reason = body.reason ?? null;
        if (reason !== null && (typeof reason !== "string" || reason.length > MAX_PAUSE_REASON)) {
          return error(422, "validation_failed", `reason must be a string of at most ${MAX_PAUSE_REASON} characters`);
        }
        const until = untilOf(body.until, "until", clock());
        if (until instanceof Response) return until;
        return json(200, handlers.pause(reason as string | null, until));
      }
      case "/v1/resume": {
        const bad = unknownField(body, []);
        return bad ?? json(200, handlers.resume());
      }
      case "/v1/snooze": {
        const bad = unknownField(body, ["until"]);
        if (bad) return bad;
        if (!("until" in body)) return error(422, "validation_failed", "until is required (null ends the snooze)");
        const until = untilOf(body.until, "until", clock());
        if (until instanceof Response) return until;
        return json(200, handlers.snooze(until));
      }
      case "/v1/idle": {
        const bad = unknownField(body, ["idle_seconds", "session"]);
        if (bad) return bad;
        const s = body.idle_seconds;
        if (typeof s !== "number" || !Number.isFinite(s) || s < 0 || s > 10 * 365 * 86400) {
          return error(422, "validation_failed", `idle_seconds "${String(s)}" must be a number of seconds`);
        }
        const session = body.session ?? null;
        if (session !== null && (typeof session !== "string" || session.length > 64)) return error(422, "validation_failed", "session must be a short string");
        handlers.idle(s * 1000, session as string | null);
        return json(200, { ok: true });
      }
    }
    return error(404, "not_found", `No such endpoint "${path}"`);
  };
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: "127.0.0.1",
        port: opts.port,
        onListen: ({ port }) => resolve({ port, close: () => server.shutdown() }),
        onError: () => error(500, "internal", "Internal error"),
      }, handle);
    } catch (e) {
      reject(e);
    }
  });
}

// The local control endpoint and its token files, the pause state machine (sources,
// expiry, persistence), the owner's snooze, and the CLI commands that talk to the endpoint.
// Everything runs for real: Deno.serve on 127.0.0.1, files in a temp state folder, fetch.
import { ControlService } from "../src/control/control_service.ts";
import { callControl } from "../src/control/control_client.ts";
import { controlFilePath, idleReportFilePath, readControlInfo, readIdleReportInfo } from "../src/control/control_file.ts";
import { PauseState } from "../src/control/pause_state.ts";
import { DEFAULT_YIELD_POLICY, type YieldPolicy } from "../src/control/yield_policy.ts";
import { parseDuration, parseUntil } from "../src/control/when.ts";
import { EXIT_NOT_RUNNING, pauseCommand, resumeCommand, snoozeCommand } from "../src/cli/control_commands.ts";
import { statusCommand } from "../src/cli/status.ts";
import { idleReporterCommand } from "../src/cli/idle_reporter.ts";
import { writeIdentity } from "../src/runtime/agent_state.ts";
import { createLogger } from "../src/runtime/log.ts";
import { currentOs } from "../src/os/current.ts";
import { linuxSeam } from "../src/os/linux.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const MIN = 60_000;

/** A clock tests move by hand. */
function manualClock(start = Date.parse("2026-12-01T10:00:00Z")) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

async function withControl(
  test: (t: { stateDir: string; svc: ControlService; clock: ReturnType<typeof manualClock> }) => Promise<void>,
  policy: Partial<YieldPolicy> = {},
): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "lb-control-test-" });
  const clock = manualClock();
  const svc = await ControlService.create({
    stateDir, port: 0, policy: { ...DEFAULT_YIELD_POLICY, ...policy }, owner: null, os: linuxSeam, log: createLogger(() => {}), clock: clock.now, tickMs: 20,
  });
  await svc.start({ connected: () => false, running: () => [], gpus: () => [] }, () => ({ gateway: null, connectedAtMs: null, lastError: null }));
  try {
    await test({ stateDir, svc, clock });
  } finally {
    await svc.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

async function request(port: number, path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set("authorization", `Bearer ${init.token}`);
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

Deno.test("control endpoint: listens on 127.0.0.1 only, its token file is owner-only, and a request without the right token is refused", async () => {
  await withControl(async ({ stateDir }) => {
    const info = (await readControlInfo(stateDir))!;
    assertEquals(info.pid, Deno.pid);
    assertEquals((await Deno.stat(controlFilePath(stateDir))).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(idleReportFilePath(stateDir))).mode! & 0o777, 0o600);
    assertEquals((await request(info.port, "/v1/status")).status, 401);
    assertEquals((await request(info.port, "/v1/status", { token: "wrong" })).status, 401);
    assertEquals((await request(info.port, "/v1/pause", { method: "POST", token: info.token.slice(0, -1) + "x", body: "{}" })).status, 401);
    const ok = await request(info.port, "/v1/status", { token: info.token });
    assertEquals(ok.status, 200);
    assertEquals(ok.body!.paused, false);
    // A web page the owner visits cannot drive it, even with the port and a token.
    assertEquals((await request(info.port, "/v1/pause", { method: "POST", token: info.token, headers: { origin: "https://evil.example" }, body: "{}" })).status, 403);
    // Bound to 127.0.0.1 itself, not to every address: another loopback address (Linux
    // routes all of 127/8 to lo) finds nobody, so neither would the LAN address.
    const refused = await fetch(`http://127.0.0.2:${info.port}/v1/status`, { signal: AbortSignal.timeout(2_000) }).then(() => false, () => true);
    assert(refused, "the endpoint answered on 127.0.0.2");
  });
});

Deno.test("control endpoint: the idle-report token may report idle time and nothing else", async () => {
  await withControl(async ({ stateDir }) => {
    const report = (await readIdleReportInfo(stateDir))!;
    const control = (await readControlInfo(stateDir))!;
    assert(report.token !== control.token);
    assertEquals((await request(report.port, "/v1/idle", { method: "POST", token: report.token, body: '{"idle_seconds": 3}' })).status, 200);
    for (const [method, path] of [["POST", "/v1/pause"], ["POST", "/v1/resume"], ["POST", "/v1/snooze"], ["GET", "/v1/status"]] as const) {
      assertEquals((await request(report.port, path, { method, token: report.token, body: method === "POST" ? "{}" : undefined })).status, 403, path);
    }
    const bad = await request(report.port, "/v1/idle", { method: "POST", token: report.token, body: '{"idle_seconds": -1}' });
    assertEquals(bad.status, 422);
    const typo = await request(control.port, "/v1/pause", { method: "POST", token: control.token, body: '{"reasn": "x"}' });
    assertEquals([typo.status, (typo.body!.error as { code: string }).code], [422, "unknown_field"]);
  });
});

Deno.test("control endpoint: tokens from an earlier run are dead and the files go when the agent stops", async () => {
  const seen: { port: number; token: string }[] = [];
  let dir = "";
  await withControl(async ({ stateDir }) => {
    seen.push((await readControlInfo(stateDir))!);
    dir = stateDir;
  });
  assertEquals(await readControlInfo(dir), null);
  const old = seen[0]!;
  const answer = await fetch(`http://127.0.0.1:${old.port}/v1/status`, { headers: { authorization: `Bearer ${old.token}` } }).then(() => "answered", () => "refused");
  assertEquals(answer, "refused");
});

Deno.test("pause: the owner's pause holds until resumed; an API pause is not lifted by the owner's resume", async () => {
  await withControl(async ({ stateDir, svc }) => {
    const lines: string[] = [];
    assertEquals(await pauseCommand({ stateDir, reason: "running a demo", untilMs: null }, (l) => lines.push(l)), 0);
    const paused = JSON.parse(lines.pop()!);
    assertEquals(paused.pause, { source: "local", reason: "running a demo", until: null });
    svc.pause.hold("api", "maintenance", null);
    assertEquals(await resumeCommand({ stateDir }, (l) => lines.push(l)), 0);
    const after = JSON.parse(lines.pop()!);
    assertEquals(after.paused, true);
    assertEquals(after.pause, { source: "api", reason: "maintenance", until: null });
    assertEquals(after.holds.map((h: { source: string }) => h.source), ["api"]);
  });
});

Deno.test("pause --for: the owner's pause ends by itself when its time comes (injected clock)", async () => {
  await withControl(async ({ stateDir, svc, clock }) => {
    const untilMs = clock.now() + parseDuration("2h")!;
    assertEquals(await pauseCommand({ stateDir, reason: null, untilMs }, () => {}), 0);
    assertEquals(svc.pause.view(), { source: "local", reason: null, until: "2026-12-01T12:00:00.000Z" });
    clock.advance(2 * 60 * MIN - 1);
    assert(svc.pause.paused());
    clock.advance(1);
    assertEquals(svc.pause.paused(), false);
  });
});

Deno.test("pause state: the owner's pause, automatic pauses and the snooze survive a restart; the API's pause does not (the gateway resends it)", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "lb-pause-test-" });
  try {
    const clock = manualClock();
    const first = (await PauseState.load(stateDir, clock.now)).state;
    first.hold("local", "demo", clock.now() + 60 * MIN);
    first.hold("gpu_busy", "GPU 0: 1 other process uses 900 MB");
    first.hold("api", "maintenance");
    await first.flushed();
    const again = (await PauseState.load(stateDir, clock.now)).state;
    assertEquals(again.list().map((h) => [h.source, h.reason, h.untilMs]), [
      ["local", "demo", clock.now() + 60 * MIN],
      ["gpu_busy", "GPU 0: 1 other process uses 900 MB", null],
    ]);
    again.snooze(clock.now() + 30 * MIN);
    await again.flushed();
    const third = (await PauseState.load(stateDir, clock.now)).state;
    assertEquals(third.snoozeUntil(), clock.now() + 30 * MIN);
    assertEquals(third.list().map((h) => h.source), ["local"], "the snooze lifted the automatic pause");
    // A damaged file does not keep the agent from starting.
    await Deno.writeTextFile(`${stateDir}/pause.json`, "{not json");
    const damaged = await PauseState.load(stateDir, clock.now);
    assert(damaged.problem?.includes("pause.json is not valid: "), `problem names the file: ${damaged.problem}`);
    assertEquals(damaged.state.paused(), false);
    // Nor does JSON of the wrong shape.
    await Deno.writeTextFile(`${stateDir}/pause.json`, "null");
    const misshapen = await PauseState.load(stateDir, clock.now);
    assert(misshapen.problem !== null, "a pause.json holding null is reported");
    assertEquals(misshapen.state.paused(), false);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("snooze: the owner's snooze lifts an automatic pause and keeps the agent from yielding until then; the owner's own pause still holds", async () => {
  await withControl(async ({ stateDir, svc, clock }) => {
    svc.watch.observeUserIdle(0, "alice");
    assertEquals(svc.pause.view()?.source, "user_active");
    const untilMs = clock.now() + 8 * 60 * MIN;
    const lines: string[] = [];
    assertEquals(await snoozeCommand({ stateDir, untilMs }, (l) => lines.push(l)), 0);
    const snoozed = JSON.parse(lines.pop()!);
    assertEquals([snoozed.paused, snoozed.snoozed_until], [false, new Date(untilMs).toISOString()]);
    // Someone keeps typing and another program takes a GPU: the agent does not yield.
    clock.advance(60 * MIN);
    svc.watch.observeUserIdle(0, "alice");
    svc.watch.observeGpus([{ index: 0, name: "RTX 4090", memory_mb: 24564, other_processes: { count: 1, memory_mb: 9000 } }]);
    assertEquals(svc.pause.paused(), false);
    // The owner's own pause is not an automatic one: the snooze leaves it alone.
    svc.pause.hold("local", "lunch");
    assertEquals(svc.pause.view()?.source, "local");
    svc.pause.release("local");
    // Once the snooze ends, activity pauses the agent again.
    clock.advance(7 * 60 * MIN);
    svc.watch.observeUserIdle(0, "alice");
    assertEquals(svc.pause.view()?.source, "user_active");
    // `snooze --until off` ends it early.
    svc.pause.snooze(clock.now() + 60 * MIN);
    assertEquals(await snoozeCommand({ stateDir, untilMs: null }, (l) => lines.push(l)), 0);
    assertEquals(JSON.parse(lines.pop()!).snoozed_until, null);
  });
});

Deno.test("console activity: input pauses the agent (user_active) and it resumes only after the policy's idle minutes (injected clock)", async () => {
  await withControl(async ({ stateDir, svc, clock }) => {
    const report = (await readIdleReportInfo(stateDir))!;
    const idle = (s: number) => request(report.port, "/v1/idle", { method: "POST", token: report.token, body: JSON.stringify({ idle_seconds: s, session: "alice" }) });
    await idle(20 * 60); // nobody there for 20 minutes
    assertEquals(svc.pause.paused(), false);
    await idle(5);
    assertEquals(svc.pause.view(), { source: "user_active", reason: "someone is using the workstation (session alice)", until: null });
    // Reports stop (the user walked away, the reporter ended with the session): idle time keeps growing.
    clock.advance(9 * MIN);
    svc.watch.evaluate();
    assert(svc.pause.paused(), "9 minutes idle is less than the 10 the policy asks");
    clock.advance(MIN);
    svc.watch.evaluate();
    assertEquals(svc.pause.paused(), false);
  }, { resumeAfterIdleMs: 10 * MIN });
});

Deno.test("status: without a running agent it says so and still shows the enrollment", async () => {
  const parent = await Deno.makeTempDir({ prefix: "lb-status-test-" });
  const stateDir = `${parent}/state`;
  try {
    await writeIdentity(stateDir, { servers: ["ws://127.0.0.1:1"], agent_id: "agt_01JD0000000000000000000000", credential: "c", name: "ws-07" }, currentOs());
    const lines: string[] = [];
    assertEquals(await statusCommand(stateDir, currentOs(), (l) => lines.push(l)), 0);
    const s = JSON.parse(lines[0]!);
    assertEquals([s.enrolled, s.running, s.live, s.note], [true, false, null, "agent not running"]);
    assert(!lines[0]!.includes('"c"'), "the credential is never printed");
    assertEquals(await pauseCommand({ stateDir, reason: null, untilMs: null }, () => {}), EXIT_NOT_RUNNING);
    assertEquals((await callControl(stateDir, "GET", "/v1/status")).kind, "not_running");
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("when: --for durations and --until times of day (the next one) or RFC 3339 times ahead", () => {
  assertEquals(parseDuration("2h"), 7_200_000);
  assertEquals(parseDuration("1h30m"), 5_400_000);
  assertEquals(parseDuration("2 hours"), null);
  assertEquals(parseDuration("0m"), null);
  const morning = new Date(2026, 11, 1, 9, 15).getTime(); // local time
  assertEquals(parseUntil("18:00", morning), new Date(2026, 11, 1, 18, 0).getTime());
  assertEquals(parseUntil("08:00", morning), new Date(2026, 11, 2, 8, 0).getTime(), "a time already past today means tomorrow");
  assertEquals(parseUntil("25:00", morning), null);
  assertEquals(parseUntil("2030-01-01T00:00:00Z", morning), Date.parse("2030-01-01T00:00:00Z"));
  assertEquals(parseUntil("2020-01-01T00:00:00Z", morning), null);
});

Deno.test("idle reporter: the session's idle time reaches the agent through idle-report.json and someone at the keyboard pauses it", async () => {
  await withControl(async ({ stateDir, svc }) => {
    const stop = new AbortController();
    let reads = 0;
    const seam = { userIdleReader: () => () => (reads++, reads < 3 ? 30 * MIN : 2_000) };
    const reporter = idleReporterCommand({ stateDir }, { os: seam, log: createLogger(() => {}), signal: stop.signal, reportMs: 10 });
    const deadline = Date.now() + 10_000;
    while (svc.pause.view()?.source !== "user_active" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    assertEquals(await reporter, 0);
    assertEquals(svc.pause.view()?.source, "user_active");
    assert(reads >= 3, "the idle time was read before each report");
  });
  // Where the OS gives no session idle time (Linux, a service), it says so and exits 1.
  assertEquals(await idleReporterCommand({ stateDir: "/nonexistent" }, { os: { userIdleReader: () => null }, log: createLogger(() => {}) }), 1);
});

Deno.test("control service: when the endpoint cannot listen, start says so (null) and a kept pause still ends on time", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "lb-control-test-" });
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let now = Date.now();
  const first = (await PauseState.load(stateDir, () => now)).state;
  first.hold("local", "lunch", now + 1_000);
  await first.flushed();
  const svc = await ControlService.create({
    stateDir, port: (taken.addr as Deno.NetAddr).port, policy: DEFAULT_YIELD_POLICY, owner: null, os: linuxSeam, log: createLogger(() => {}),
    clock: () => now, tickMs: 10,
  });
  try {
    const lifted: string[] = [];
    svc.pause.onChange((c) => lifted.push(`${c.kind}:${c.source}:${c.cause}`));
    assertEquals(await svc.start({ connected: () => false, running: () => [], gpus: () => [] }, () => ({ gateway: null, connectedAtMs: null, lastError: null })), null);
    assertEquals(await readControlInfo(stateDir), null);
    now += 1_000;
    const deadline = Date.now() + 5_000;
    while (lifted.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assertEquals(lifted, ["resumed:local:expired"]);
  } finally {
    await svc.close();
    taken.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

// (b) A full attempt over real sockets and a real process, (g) nothing starts without
// start_granted, plus the failure paths that end in a report (bad input, spawn failure,
// non-zero exit, flaky store).
import { assert, assertEquals, assertExists } from "./helpers/assert.ts";
import { exists, makeAssign, sha256, withAgent } from "./helpers/agent_harness.ts";
import { SIGNATURE } from "./helpers/fake_store.ts";
import { pause } from "./helpers/wait.ts";
import { pidsOfAttempt } from "./helpers/procs.ts";

const SCRIPT = [
  'test -n "$LB_JOB_ID" && test -n "$LB_ATTEMPT_ID" || exit 7',
  'case "$LB_INPUT_DIR" in /*) ;; *) exit 8;; esac',
  'case "$LB_OUTPUT_DIR" in /*) ;; *) exit 9;; esac',
  'cat "$LB_INPUT_DIR/data/in.txt" > "$LB_OUTPUT_DIR/copy.txt"',
  'mkdir -p "$LB_OUTPUT_DIR/sub/deeper"',
  'printf "%s|%s|%s" "$LB_JOB_ID" "$LB_ATTEMPT_ID" "$MY_VAR" > "$LB_OUTPUT_DIR/sub/deeper/ids.txt"',
  'echo "step 1"; echo "step 2 of 2"; echo "oops" >&2',
].join("\n");

Deno.test("full attempt: grant, input, run with LB_* env, presign, upload, finished", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const input = new TextEncoder().encode("hello input\n");
    const assign = makeAssign(["sh", "-c", SCRIPT], { env: { MY_VAR: "from-job" } });
    assign.inputs = [{ key: "inputs/upl_x/in.txt", path: "data/in.txt", url: store.getUrl("in.txt", input), size: input.length, sha256: sha256(input) }];
    gw.presign = store.presignFor(assign.job_id);

    await gw.waitFor("hello");
    const hello = gw.framesOf("hello")[0]!;
    assertEquals(hello.restarted, true);
    assertEquals(hello.running, []);
    gw.send(assign);
    gw.send(assign); // duplicate delivery: must be ignored
    await gw.waitFor("attempt.start_request", (m) => m.attempt_id === assign.attempt_id);

    const finished = await gw.waitFor("attempt.finished", (m) => m.attempt_id === assign.attempt_id);
    assertEquals(gw.framesOf("attempt.start_request").length, 1, "one start_request despite the duplicate assign");
    assertEquals(finished.outcome, "succeeded");
    assertEquals(finished.exit_code, 0);
    assertEquals(finished.error, null);

    // presign.request: every output (subfolders too, forward slashes) plus both logs.
    const req = gw.framesOf("presign.request")[0]!;
    assertEquals(req.files.map((f) => f.path).sort(), ["logs/stderr.log", "logs/stdout.log", "outputs/copy.txt", "outputs/sub/deeper/ids.txt"]);

    // Uploads arrived with the right bytes; the report's sizes and hashes match them.
    const ids = `${assign.job_id}|${assign.attempt_id}|from-job`;
    assertEquals(finished.outputs.map((o) => o.path), ["copy.txt", "sub/deeper/ids.txt"]);
    for (const o of finished.outputs) {
      const put = store.puts.get(o.key);
      assertExists(put, `upload of ${o.key}`);
      assertEquals(put.sha256, o.sha256);
      assertEquals(put.bytes.length, o.size);
      assertEquals(put.headers.get("content-type"), "application/octet-stream");
    }
    assertEquals(new TextDecoder().decode(store.puts.get(finished.outputs[0]!.key)!.bytes), "hello input\n");
    assertEquals(new TextDecoder().decode(store.puts.get(finished.outputs[1]!.key)!.bytes), ids);
    const prefix = `jobs/${assign.job_id}/${assign.attempt_id}/`;
    assertEquals(new TextDecoder().decode(store.puts.get(`${prefix}logs/stdout.log`)!.bytes), "step 1\nstep 2 of 2\n");
    assertEquals(new TextDecoder().decode(store.puts.get(`${prefix}logs/stderr.log`)!.bytes), "oops\n");
    assertEquals(store.refused, []);
    assertEquals(gw.invalid, []);

    // Work folder goes once the report is delivered; the logs carry no signature.
    await agent.waitLog("attempt reported");
    // Once the attempt is no longer held (a heartbeat without it), a late re-delivery of it
    // must not run it again.
    await gw.waitSince(gw.mark(), "heartbeat", (h) => !h.running.includes(assign.attempt_id));
    gw.send(assign);
    await agent.waitLog("assignment of an attempt this agent already finished, ignored");
    assertEquals(gw.framesOf("attempt.start_request").length, 1);
    assert(!(await exists(`${agent.workRoot}/${assign.attempt_id}`)), "work folder removed");
    assert(!agent.rawLogs.some((l) => l.includes(SIGNATURE)), "no presigned query string in logs");
    assert(!agent.rawLogs.some((l) => l.includes(gw.credential)), "no credential in logs");
    assert(
      agent.logs.some((l) => l.msg === "attempt started" && l.attempt_id === assign.attempt_id && l.job_id === assign.job_id && l.agent_id === gw.agentId),
    );
  });
});

Deno.test("progress: the latest stdout line is sent while the job runs", async () => {
  await withAgent(async ({ gw, store }) => {
    const assign = makeAssign(["sh", "-c", 'echo "epoch 1"; sleep 0.4; printf "epoch 2 loss=0.1\\r"; sleep 0.6']);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    await gw.waitFor("attempt.finished");
    const messages = gw.framesOf("attempt.progress").map((p) => p.message);
    assertEquals(messages, ["epoch 1", "epoch 2 loss=0.1"]);
  });
});

Deno.test("no start without start_granted; abort start_refused drops it silently", async () => {
  await withAgent(async ({ gw, agent }) => {
    gw.autoGrant = false;
    const assign = makeAssign(["sh", "-c", 'touch "$LB_OUTPUT_DIR/ran"; sleep 30']);
    await gw.waitFor("hello");
    gw.send(assign);
    await gw.waitFor("attempt.start_request");
    // The attempt is held (heartbeats list it) but nothing runs.
    await gw.waitFor("heartbeat", (h) => h.running.includes(assign.attempt_id));
    await pause(500);
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
    assert(!(await exists(`${agent.workRoot}/${assign.attempt_id}/outputs/ran`)));
    assert(await exists(`${agent.workRoot}/${assign.attempt_id}/inputs`), "work folder prepared");

    const mark = gw.mark();
    gw.send({ type: "attempt.abort", attempt_id: assign.attempt_id, reason: "start_refused" });
    await agent.waitLog("attempt dropped before start");
    await gw.until(async () => !(await exists(`${agent.workRoot}/${assign.attempt_id}`)), "work folder removed");
    await gw.waitSince(mark, "heartbeat", (h) => !h.running.includes(assign.attempt_id), 5_000);
    await pause(300);
    assertEquals(gw.framesOf("attempt.finished"), []);
  });
});

Deno.test("cancel before start: nothing runs, nothing is reported", async () => {
  await withAgent(async ({ gw, agent }) => {
    gw.autoGrant = false;
    const assign = makeAssign(["sh", "-c", "sleep 30"]);
    await gw.waitFor("hello");
    gw.send(assign);
    await gw.waitFor("attempt.start_request");
    gw.send({ type: "attempt.cancel", attempt_id: assign.attempt_id, reason: "canceled" });
    await agent.waitLog("attempt dropped before start");
    // A late grant for it is ignored.
    gw.send({ type: "attempt.start_granted", attempt_id: assign.attempt_id });
    await pause(300);
    assertEquals(await pidsOfAttempt(assign.attempt_id), []);
    assertEquals(gw.framesOf("attempt.finished"), []);
  });
});

Deno.test("input with a wrong sha256 fails with input_download_failed and never runs", async () => {
  await withAgent(async ({ gw, store }) => {
    const bytes = new TextEncoder().encode("data");
    const assign = makeAssign(["sh", "-c", 'touch "$LB_OUTPUT_DIR/ran"']);
    assign.inputs = [{ key: "inputs/u/a", path: "a.bin", url: store.getUrl("a", bytes), size: 4, sha256: "0".repeat(64) }];
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "failed");
    assertEquals(f.error?.code, "input_download_failed");
    assertEquals(f.exit_code, null);
    assertEquals(f.outputs, []);
    assertEquals(gw.invalid, []);
  });
});

Deno.test("an input path escaping the folder is refused as input_download_failed", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    const assign = makeAssign(["true"]);
    assign.inputs = [{ key: "inputs/u/a", path: "../../escape.txt", url: store.getUrl("a", new Uint8Array([1])) }];
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.error?.code, "input_download_failed");
    assert(!(await exists(`${agent.stateDir}/escape.txt`)));
  });
});

Deno.test("a missing program fails with spawn_failed", async () => {
  await withAgent(async ({ gw }) => {
    await gw.waitFor("hello");
    gw.send(makeAssign(["definitely-not-a-program-lb"]));
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "failed");
    assertEquals(f.error?.code, "spawn_failed");
    assertEquals(f.exit_code, null);
  });
});

Deno.test("non-zero exit fails with exit_nonzero but still uploads logs and outputs", async () => {
  await withAgent(async ({ gw, store, agent }) => {
    store.failPuts = 2; // a flaky store: the agent retries
    const assign = makeAssign(["sh", "-c", 'echo partial > "$LB_OUTPUT_DIR/p.txt"; echo bad >&2; exit 3']);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "failed");
    assertEquals(f.exit_code, 3);
    assertEquals(f.error?.code, "exit_nonzero");
    assertEquals(f.outputs.map((o) => o.path), ["p.txt"]);
    assertEquals(store.puts.size, 3);
    assert(store.putAttempts.length >= 5, "failed PUTs were retried");
  });
});

Deno.test("a store that keeps refusing uploads fails the attempt with output_upload_failed", async () => {
  await withAgent(async ({ gw, store }) => {
    store.failPuts = 1_000;
    const assign = makeAssign(["sh", "-c", 'echo x > "$LB_OUTPUT_DIR/x.txt"']);
    gw.presign = store.presignFor(assign.job_id);
    await gw.waitFor("hello");
    gw.send(assign);
    const f = await gw.waitFor("attempt.finished");
    assertEquals(f.outcome, "failed");
    assertEquals(f.exit_code, 0);
    assertEquals(f.error?.code, "output_upload_failed");
    assertEquals(f.outputs, []);
    assert(!f.error!.message.includes(SIGNATURE), "error message carries no signature");
  });
});

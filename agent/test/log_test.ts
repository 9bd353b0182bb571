import { createLogger, redactText, redactUrl } from "../src/runtime/log.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

Deno.test("redactUrl: query, fragment and userinfo are stripped", () => {
  assertEquals(
    redactUrl("https://bucket.oss-cn-hangzhou.aliyuncs.com/jobs/j/a/outputs/x?OSSAccessKeyId=AK&Signature=abc%2F&Expires=1"),
    "https://bucket.oss-cn-hangzhou.aliyuncs.com/jobs/j/a/outputs/x",
  );
  assertEquals(redactUrl("wss://user:pw@gw.example/v1/agent#frag"), "wss://gw.example/v1/agent");
  assertEquals(redactUrl("http://h/p"), "http://h/p");
});

Deno.test("redactText: URLs inside error messages lose their signature", () => {
  assertEquals(
    redactText("error sending request for url (http://127.0.0.1:9/put/k?X-Amz-Signature=deadbeef): connection refused"),
    "error sending request for url (http://127.0.0.1:9/put/k): connection refused",
  );
});

Deno.test("logger: one JSON line per call with level, time, msg and context fields", () => {
  const lines: string[] = [];
  const log = createLogger((l) => lines.push(l), {}, () => new Date("2025-01-02T03:04:05.000Z")).child({ agent_id: "agt_1" });
  log.child({ attempt_id: "att_2", job_id: "job_3" }).info("attempt started", { url: "https://s/x?sig=1", error: new Error("GET https://s/y?sig=2 failed") });
  assertEquals(lines.length, 1);
  assertEquals(JSON.parse(lines[0]!), {
    level: "info",
    time: "2025-01-02T03:04:05.000Z",
    msg: "attempt started",
    agent_id: "agt_1",
    attempt_id: "att_2",
    job_id: "job_3",
    url: "https://s/x",
    error: "GET https://s/y failed",
  });
  assert(!lines[0]!.includes("sig="));
});

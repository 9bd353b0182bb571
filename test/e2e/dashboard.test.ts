// The dashboard in a real browser (Debian's chromium through playwright-core) against a
// real bridge: object store, the four services and a Deno agent (with a fake nvidia-smi so
// it has GPUs to show). A person's path through it: sign in, submit with an uploaded input,
// watch a running job's output, cancel it, pause an agent, mint a token, read the audit.
// Each page is saved as a screenshot under test-output/screenshots/.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { Bridge, type AgentHandle } from "../harness/bridge.ts";
import { SCREENSHOT_DIR, startBrowser, type TestBrowser } from "../harness/browser.ts";
import { fakeNvidiaSmi, type FakeNvidiaSmi } from "../harness/fake_nvidia_smi.ts";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

let env: TestEnv;
let bridge: Bridge;
let agent: AgentHandle;
let smi: FakeNvidiaSmi;
let browser: TestBrowser;
let page: Page;
let admin: string;
/** Every request the page made, with the headers it really sent. */
const sent: Promise<{ url: string; headers: Record<string, string> }>[] = [];
let runningJobId = "";
let succeededJobId = "";

const UI_MS = 30_000;

const seen = (selector: string, hasText?: string | RegExp, timeout = UI_MS) => page.locator(selector, hasText ? { hasText } : {}).first().waitFor({ timeout });
const visit = async (hash: string) => {
  await page.evaluate((h) => (location.hash = h), hash);
};
const stateOfHeading = () => page.locator("h1 .state").first().textContent();

async function signInWith(token: string): Promise<void> {
  await page.fill("input[name=token]", token);
  await page.click("button[type=submit]");
}

beforeAll(async () => {
  smi = fakeNvidiaSmi([
    { index: 0, uuid: "GPU-5a1b2c3d-0e1f-2a3b-4c5d-6e7f8a9b0c1d", name: "NVIDIA GeForce RTX 4090", memoryMb: 24564, usedMb: 20100, utilization: 97, temperature: 74 },
  ]);
  env = await createTestEnv({ LB_LEASE_TTL_SECONDS: "6", LB_HEARTBEAT_SECONDS: "1", LB_LOG_LEVEL: "info" }, "lbweb");
  admin = env.config.adminToken!;
  bridge = await Bridge.start({ env: env.env });
  agent = await bridge.startAgent({ name: "ws-b201-07", labels: { lab: "b201" }, env: { PATH: smi.path } });
  await waitFor(async () => {
    const a = (await bridge.api("GET", `/v1/agents/${agent.agentId}`)).body;
    return a?.status === "ONLINE" && a.gpus?.[0]?.memory_used_mb === 20100;
  }, 60_000, "agent ONLINE with its GPU reading");
  browser = await startBrowser();
  page = browser.page;
  page.on("request", (r) => void sent.push(r.allHeaders().then((headers) => ({ url: r.url(), headers }))));
  console.log(`[dashboard] screenshots go to ${SCREENSHOT_DIR}`);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.stop();
  await env?.cleanup();
  smi?.remove();
});

describe("the dashboard in a browser", () => {
  it("a wrong token is refused with the API's message, and a good one signs in and stays in the tab's sessionStorage only", async () => {
    await page.goto(`${bridge.apiUrl}/`);
    await signInWith("not-a-token");
    await seen(".error", "Token is not valid or was revoked");
    await signInWith(admin);
    await seen("nav a[data-page=jobs].active");
    expect(await page.evaluate(() => sessionStorage.getItem("labbridge.token"))).toBe(admin);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(page.url()).not.toContain(admin);
  });

  it("a job submitted with an uploaded local file runs on the agent, and its page links the output", async () => {
    await visit("#/submit");
    await seen("form.submit");
    await page.fill("input[name=name]", "uppercase");
    await page.fill("textarea[name=command]", ["sh", "-c", 'tr a-z A-Z < "$LB_INPUT_DIR/data.txt" > "$LB_OUTPUT_DIR/result.txt"'].join("\n"));
    // A typed file: the browser must not add a Content-Type the presigned PUT was not signed for.
    await page.setInputFiles("input[name=inputs]", { name: "data.txt", mimeType: "text/plain", buffer: Buffer.from("hello lab\n") });
    await page.fill("input[name=labels]", "lab=b201");
    await browser.screenshot("submit");
    await page.click("form.submit button[type=submit]");
    await page.waitForURL(/#\/jobs\/job_/, { timeout: UI_MS });
    succeededJobId = decodeURIComponent(/#\/jobs\/([^/?]+)/.exec(page.url())![1]!);
    await seen("h1 .state", "SUCCEEDED", 90_000);
    const link = page.locator("table.outputs a", { hasText: "result.txt" });
    await link.waitFor({ timeout: UI_MS });
    expect(await (await fetch((await link.getAttribute("href"))!)).text()).toBe("HELLO LAB\n");
    // The full logs in the store, where the API lists them (GET /v1/jobs/{id}/logs); its error otherwise.
    const logs = await bridge.api("GET", `/v1/jobs/${succeededJobId}/logs`);
    if (logs.status === 200) await seen(".full-logs a.log-link", "stdout");
    else await seen(".full-logs .error", logs.body!.error.message);
    const job = (await bridge.api("GET", `/v1/jobs/${succeededJobId}`)).body!;
    expect(job.name).toBe("uppercase");
    // The page hashed the file itself, so the agent could check what it downloaded.
    const digest = createHash("sha256").update("hello lab\n").digest("hex");
    expect(job.inputs).toEqual([{ key: expect.stringMatching(/^inputs\/.+\/data\.txt$/), path: "data.txt", size: 10, sha256: digest }]);
    expect(job.requirements).toEqual({ labels: { lab: "b201" } });
  });

  it("a running job's page shows its output live, as the agent reports it", async () => {
    const created = await bridge.api("POST", "/v1/jobs", {
      name: "train", command: ["sh", "-c", "echo epoch 1/3; sleep 6; echo epoch 2/3; sleep 300"],
    });
    runningJobId = created.body!.id;
    await visit(`#/jobs/${runningJobId}`);
    await seen("h1 .state", "RUNNING", 60_000);
    // Lines arrive as `progress` events today and as `log` {stream: "stdout"} events once
    // the agent streams logs; either is the job's own output, shown as it comes.
    await seen(".log-line", "epoch 1/3", 60_000);
    await seen(".log-line", "epoch 2/3", 60_000);
    const kinds = await page.locator(".log-line", { hasText: "epoch 2/3" }).evaluateAll((els) => els.map((e) => e.getAttribute("data-kind")));
    expect(kinds.every((k) => k === "progress" || k === "stdout")).toBe(true);
    expect(await stateOfHeading()).toBe("RUNNING");
    await seen(".log-head .live");
    await browser.screenshot("job-detail");
  });

  it("cancel on the job's page stops the running job, which ends CANCELED", async () => {
    await page.click("button.danger", { timeout: UI_MS });
    await seen("h1 .state", "CANCELED", 60_000);
    expect((await bridge.api("GET", `/v1/jobs/${runningJobId}`)).body!.state).toBe("CANCELED");
    await seen("table.history td", "canceled");
  });

  it("the jobs list filters by state and owner, and shows new jobs and why they wait without a reload", async () => {
    await visit("#/jobs");
    await seen(`tr[data-job-id="${succeededJobId}"]`);
    await seen(`tr[data-job-id="${runningJobId}"]`);
    await page.selectOption("select[name=state]", "CANCELED");
    await page.waitForURL(/state=CANCELED/, { timeout: UI_MS });
    await seen(`tr[data-job-id="${runningJobId}"]`);
    await waitFor(async () => (await page.locator(`tr[data-job-id="${succeededJobId}"]`).count()) === 0, UI_MS, "the SUCCEEDED job filtered out");
    await page.selectOption("select[name=state]", "");
    await seen(`tr[data-job-id="${succeededJobId}"]`);
    // The owner filter goes to the API as ?owner=: the page lists what the API answers for it.
    await page.fill("input[name=owner]", "alice");
    await page.press("input[name=owner]", "Enter");
    await page.waitForURL(/owner=alice/, { timeout: UI_MS });
    const forAlice = (await bridge.api("GET", "/v1/jobs?owner=alice")).body!.items.map((j: { id: string }) => j.id);
    await waitFor(async () => {
      const shown = await page.locator("tr[data-job-id]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-job-id")));
      return JSON.stringify(shown) === JSON.stringify(forAlice);
    }, UI_MS, "the rows the API lists for owner alice");
    await page.fill("input[name=owner]", "");
    await page.press("input[name=owner]", "Enter");
    await page.waitForURL((u) => !u.hash.includes("owner="), { timeout: UI_MS });
    // A job submitted elsewhere shows up without a reload.
    const another = await bridge.api("POST", "/v1/jobs", { command: ["true"], requirements: { labels: { lab: "nowhere" } } });
    await seen(`tr[data-job-id="${another.body!.id}"]`);
    await seen(`tr[data-job-id="${another.body!.id}"] .queue`, "no_agent_matches");
    await browser.screenshot("jobs");
  });

  it("the agents page shows the GPU's live memory and utilization, and pausing an agent there shows it paused; resume undoes it", async () => {
    await visit("#/agents");
    const card = `article.agent[data-agent-id="${agent.agentId}"]`;
    await seen(`${card} .state`, "ONLINE");
    await seen(`${card} tr.gpu`, "NVIDIA GeForce RTX 4090");
    await seen(`${card} tr.gpu .meter`, "19.6 / 24.0 GiB");
    await seen(`${card} tr.gpu .meter`, "97%");
    await page.fill(`${card} input[name=reason]`, "driver update");
    await page.click(`${card} button:has-text("Pause")`);
    await seen(`${card} [data-testid=pause]`, "driver update");
    const view = (await bridge.api("GET", `/v1/agents/${agent.agentId}`)).body!;
    expect(view.paused).toBe(true);
    // Where the API names the pause's source, the page says it.
    if (view.pause) await seen(`${card} [data-testid=pause] code`, view.pause.source);
    await browser.screenshot("agents");
    await page.click(`${card} button:has-text("Resume")`);
    await seen(`${card} dd`, "not paused");
    expect((await bridge.api("GET", `/v1/agents/${agent.agentId}`)).body!.paused).toBe(false);
  });

  it("an admin mints a user token on the tokens page, and the audit page shows its rows or the API's error", async () => {
    await visit("#/tokens");
    await page.fill("form.inline input[name=owner]", "alice");
    await page.click("form.inline button[type=submit]");
    await seen("[data-testid=minted] code.secret");
    const aliceToken = (await page.textContent("[data-testid=minted] code.secret"))!;
    expect((await bridge.api("GET", "/v1/jobs", undefined, { token: aliceToken })).status).toBe(200);
    const listed = await bridge.api("GET", "/v1/api-tokens");
    if (listed.status === 200) await seen("table.tokens td", "alice");
    else await seen(".error", listed.body!.error.message);
    await browser.screenshot("tokens");

    await visit("#/audit");
    const audit = await bridge.api("GET", "/v1/audit");
    if (audit.status === 200) await seen("table.audit");
    else await seen(".error", audit.body!.error.message);
    if (audit.body?.error?.request_id) await seen(".error .request-id");
    await browser.screenshot("audit");

    // Alice signs in: she sees her own (no) jobs, and the admin pages only where the API cannot say her role.
    await page.click("button:has-text('Sign out')");
    await seen("input[name=token]");
    expect(await page.evaluate(() => sessionStorage.getItem("labbridge.token"))).toBeNull();
    await signInWith(aliceToken);
    await seen("header.nav");
    await visit("#/jobs");
    await seen("nav a[data-page=jobs].active");
    await seen("table.jobs td", "No jobs yet");
    const me = await bridge.api("GET", "/v1/me", undefined, { token: aliceToken });
    const adminLinks = await page.locator("nav a[data-page=tokens], nav a[data-page=audit]").count();
    expect(adminLinks).toBe(me.status === 200 && me.body!.role === "user" ? 0 : 2);
  });

  it("every API call the page made carried the token in the Authorization header and never in a URL", async () => {
    const requests = await Promise.all(sent);
    const apiCalls = requests.filter((r) => r.url.startsWith(`${bridge.apiUrl}/v1/`));
    expect(apiCalls.length).toBeGreaterThan(10);
    for (const r of requests) expect(r.url).not.toContain(admin);
    for (const r of apiCalls) expect(r.headers.authorization).toMatch(/^Bearer \S+$/);
    // The uploads went to the store, not through the API.
    expect(requests.some((r) => r.url.startsWith(bridge.ossUrl) && r.url.includes("/inputs/"))).toBe(true);
  });
});

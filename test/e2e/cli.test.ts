// `lb` end to end on real processes: the object store, the four services and a Deno agent.
// A folder input goes up in parts (small part size), the agent downloads and checks it, the
// job runs, `--follow` exits by the job's outcome, and `lb download` checks every output.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIN_PART_BYTES } from "@labbridge/protocol";
import { Bridge } from "../harness/bridge.ts";
import { runLb } from "../harness/lb_cli.ts";
import { createTestEnv, waitFor, type TestEnv } from "../harness/test_env.ts";

let env: TestEnv;
let bridge: Bridge;
let home: string;
let lbEnv: Record<string, string>;

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

beforeAll(async () => {
  env = await createTestEnv({ LB_UPLOAD_PART_BYTES: String(MIN_PART_BYTES), LB_LOG_LEVEL: "info" }, "lbclie2e");
  bridge = await Bridge.start({ env: env.env });
  const agent = await bridge.startAgent({ name: "ws-cli", labels: { lab: "b201" } });
  await waitFor(async () => (await bridge.api("GET", `/v1/agents/${agent.agentId}`)).body?.status === "ONLINE", 30_000, "agent ONLINE");
  home = await mkdtemp(join(tmpdir(), "lb-cli-e2e-"));
  lbEnv = { HOME: home, XDG_CONFIG_HOME: join(home, "config"), XDG_STATE_HOME: join(home, "state") };
  const login = await runLb(["login", "--server", bridge.apiUrl, "--token-stdin"], lbEnv, `${env.config.adminToken}\n`);
  expect(login.code, login.stderr).toBe(0);
});

afterAll(async () => {
  await bridge?.stop();
  await env?.cleanup();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("lb against the running bridge", () => {
  it("submit --follow with a folder input runs the job to SUCCEEDED (exit 0), and download brings its outputs back checked", async () => {
    const data = join(home, "dataset");
    await mkdir(join(data, "train"), { recursive: true });
    const big = randomBytes(MIN_PART_BYTES * 2 + 999);
    await writeFile(join(data, "train", "big.bin"), big);
    await writeFile(join(data, "notes.txt"), "four words in here\n");
    const script = 'sha256sum "$LB_INPUT_DIR/dataset/train/big.bin" | cut -d" " -f1 > "$LB_OUTPUT_DIR/sha.txt"; wc -w < "$LB_INPUT_DIR/dataset/notes.txt" > "$LB_OUTPUT_DIR/words.txt"';
    const run = await runLb(["submit", "--follow", "--label", "lab=b201", "--input", data, "--", "sh", "-c", script], lbEnv);
    expect(run.code, run.stderr).toBe(0);
    const id = /submitted (job_\w+)/.exec(run.stderr)?.[1];
    expect(id, run.stderr).toBeTruthy();
    expect(run.stderr).toContain(`job ${id} ended SUCCEEDED`);

    const target = join(home, "out");
    const dl = await runLb(["download", id!, target, "--json"], lbEnv);
    expect(dl.code, dl.stderr).toBe(0);
    expect(dl.json.files.map((f: { path: string }) => f.path).sort()).toEqual(["sha.txt", "words.txt"]);
    // The agent saw exactly the bytes that were uploaded in parts.
    expect((await readFile(join(target, "sha.txt"), "utf8")).trim()).toBe(sha256(big));
    expect((await readFile(join(target, "words.txt"), "utf8")).trim()).toBe("4");
  });

  it("submit --follow exits 5 when the job fails, and logs -f on the ended job says so too", async () => {
    const run = await runLb(["submit", "--follow", "--json", "--", "sh", "-c", "exit 3"], lbEnv);
    expect(run.code, run.stderr).toBe(5);
    const events = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: "submitted" });
    expect(events.at(-1)).toMatchObject({ event: "ended", job: { state: "FAILED" } });
    const id = events[0].job.id as string;
    expect((await runLb(["logs", "-f", id], lbEnv)).code).toBe(5);
    const status = await runLb(["status", id], lbEnv);
    expect(status.stdout).toMatch(/attempt 1 att_\w+ on agt_\w+: FAILED, exit 3/);
  });
});

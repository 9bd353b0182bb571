import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkJobSpec, ID_PREFIX, newId, type Gpu } from "@labbridge/protocol";
import {
  createEnrollmentToken, createJob, createPool, enrollAgent, getJob, listJobs, markAgentOnline, pendingByReason, setAgentPaused, type Pool,
} from "@labbridge/store";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// The `queue` of PENDING jobs against real MariaDB: every reason from real agent rows and
// held attempts, and positions under fair share computed for a whole page at once.

const T0 = Date.UTC(2025, 0, 1);
const at = (ms: number) => new Date(T0 + ms);
const rtx = (index: number): Gpu & { index: number } => ({ index, name: "NVIDIA GeForce RTX 4090", memory_mb: 24_564, uuid: `GPU-${index}` });

let env: TestEnv;
let pool: Pool;
let clock = 0;

beforeEach(async () => {
  env = await createTestEnv();
  pool = createPool(env.config.mysqlUrl);
  clock = 0;
});

afterEach(async () => {
  await pool.end();
  await env.cleanup();
});

async function agent(opts: { os?: string; labels?: Record<string, string>; gpus?: Gpu[]; online?: boolean; slots?: number } = {}): Promise<string> {
  const { token } = await createEnrollmentToken(pool, { createdBy: "admin", ttlSeconds: 600, labels: {}, now: at(0) });
  const enrolled = await enrollAgent(pool, { token, name: "ws", hostname: "ws", os: opts.os ?? "linux", labels: opts.labels ?? {}, now: at(0) });
  const agentId = enrolled!.agentId;
  if (opts.online !== false) {
    await markAgentOnline(pool, { agentId, gatewayId: "gw-1", sessionId: newId(ID_PREFIX.session), hostname: "ws", gpus: opts.gpus ?? [], at: at(1) });
  }
  if (opts.slots) await pool.execute("UPDATE agents SET slots = ? WHERE id = ?", [opts.slots, agentId]);
  return agentId;
}

async function job(body: Record<string, unknown> = {}, owner = "alice"): Promise<string> {
  const checked = checkJobSpec({ command: ["python", "train.py"], ...body });
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  clock += 10;
  return (await createJob(pool, { owner, spec: checked.value, idempotencyKey: null, now: at(clock) })).job.id;
}

// The rows an assignment leaves (an ASSIGNED attempt current for its job, holding `gpus`,
// and its owner's last assignment), written directly so these tests do not depend on how
// the scheduler picks agents.
async function hold(agentId: string, jobId: string, assignedMs = clock, gpus: number[] = []): Promise<void> {
  const attemptId = newId(ID_PREFIX.attempt, T0 + assignedMs);
  await pool.execute("INSERT INTO attempts (id, job_id, number, agent_id, state, assigned_at, gpus) VALUES (?, ?, 1, ?, 'ASSIGNED', ?, ?)",
    [attemptId, jobId, agentId, at(assignedMs), JSON.stringify(gpus.map((index) => ({ index })))]);
  await pool.execute("UPDATE jobs SET state = 'ASSIGNED', current_attempt_id = ? WHERE id = ? AND state = 'PENDING'", [attemptId, jobId]);
  await pool.execute(
    `INSERT INTO owner_usage (owner, last_assigned_at) SELECT owner, ? FROM jobs WHERE id = ?
     ON DUPLICATE KEY UPDATE last_assigned_at = GREATEST(last_assigned_at, VALUES(last_assigned_at))`,
    [at(assignedMs), jobId],
  );
}

const queueOf = async (jobId: string) => (await getJob(pool, jobId))!.queue;

describe("why a PENDING job waits", () => {
  it("a job no enrolled agent could run says no_agent_matches and names the requirement", async () => {
    await agent({ os: "linux", labels: { gpu: "rtx4090" }, gpus: [rtx(0)] });
    expect(await queueOf(await job({ requirements: { os: "windows" } }))).toEqual({ position: 1, reason: "no_agent_matches", message: 'no enrolled agent has os "windows"' });
    expect((await queueOf(await job({ requirements: { labels: { gpu: "a100" } } })))!.message).toBe('no enrolled agent has labels.gpu = "a100"');
    expect((await queueOf(await job({ requirements: { gpus: 2 } })))!.message).toBe("no enrolled agent has 2 GPUs");
  });

  it("a revoked agent does not count as one that could run the job", async () => {
    const id = await agent({ os: "windows" });
    await pool.execute("UPDATE agents SET revoked_at = ? WHERE id = ?", [at(5), id]);
    expect((await queueOf(await job({ requirements: { os: "windows" } })))!.reason).toBe("no_agent_matches");
  });

  it("a job only offline agents could run says no_agent_online", async () => {
    await agent({ online: false });
    expect(await queueOf(await job())).toEqual({ position: 1, reason: "no_agent_online", message: "1 agent matches; it is offline" });
  });

  it("a job whose matching online agents are all paused says agents_paused", async () => {
    const id = await agent();
    await setAgentPaused(pool, { agentId: id, paused: true, reason: "exam week" });
    expect(await queueOf(await job())).toEqual({ position: 1, reason: "agents_paused", message: "1 agent matches; it is paused" });
  });

  it("a job whose matching agents have no free slot says agents_busy", async () => {
    const a = await agent();
    const b = await agent();
    await hold(a, await job({}, "bob"));
    await hold(b, await job({}, "bob"));
    expect(await queueOf(await job())).toEqual({ position: 1, reason: "agents_busy", message: "2 agents match; both are busy" });
  });

  it("a job asking for a GPU the agent's attempts hold says agents_busy though a slot is free", async () => {
    const a = await agent({ gpus: [rtx(0)], slots: 4 });
    await hold(a, await job({ requirements: { gpus: 1 } }, "bob"), clock, [0]);
    expect((await queueOf(await job({ requirements: { gpus: 1 } })))!.reason).toBe("agents_busy");
    // A job asking for no GPU still fits in a free slot.
    expect((await queueOf(await job()))!.reason).toBe("waiting_for_fair_share");
  });

  it("a job a free agent could run, behind others under fair share, says waiting_for_fair_share with its position", async () => {
    await agent();
    await job();
    await job();
    expect(await queueOf(await job())).toEqual({ position: 3, reason: "waiting_for_fair_share", message: "1 matching agent is free; 2 jobs go first under fair share" });
  });

  it("a job that is not PENDING has a null queue", async () => {
    const a = await agent();
    const id = await job();
    await hold(a, id);
    expect(await queueOf(id)).toBeNull();
  });
});

describe("agents' os", () => {
  it("an agent enrolled from macOS (Deno says darwin) is stored as macos, the spelling jobs ask for", async () => {
    const id = await agent({ os: "darwin" });
    const [rows] = await pool.execute("SELECT os FROM agents WHERE id = ?", [id]);
    expect((rows as { os: string }[])[0]!.os).toBe("macos");
    expect((await queueOf(await job({ requirements: { os: "darwin" } })))!.reason).toBe("waiting_for_fair_share");
  });
});

describe("positions under fair share", () => {
  it("within one owner, higher priority goes first, then the older job", async () => {
    const old = await job();
    const young = await job();
    const urgent = await job({ priority: 5 });
    expect((await queueOf(urgent))!.position).toBe(1);
    expect((await queueOf(old))!.position).toBe(2);
    expect((await queueOf(young))!.position).toBe(3);
  });

  it("another owner's single job is second, not behind the first owner's long queue", async () => {
    for (let i = 0; i < 20; i++) await job({}, "alice");
    const bobs = await job({}, "bob");
    // Neither owner was ever assigned a job: ties go by owner name, alice first.
    expect((await queueOf(bobs))!.position).toBe(2);
  });

  it("the owner assigned least recently goes first", async () => {
    const a = await agent({ slots: 8 });
    await hold(a, await job({}, "alice"), 5000);
    await hold(a, await job({}, "bob"), 1000);
    const alices = await job({}, "alice");
    const bobs = await job({}, "bob");
    expect((await queueOf(bobs))!.position).toBe(1);
    expect((await queueOf(alices))!.position).toBe(2);
  });

  it("a listed page of PENDING jobs carries each job's queue, the same as GET of each", async () => {
    await agent();
    const ids = [await job({}, "alice"), await job({}, "alice"), await job({}, "bob"), await job({ requirements: { os: "windows" } }, "bob")];
    const page = await listJobs(pool, { limit: 50 });
    expect(page.items).toHaveLength(4);
    for (const item of page.items) expect(item.queue, item.id).toEqual(await queueOf(item.id));
    expect(page.items.map((j) => j.queue!.position).sort()).toEqual([1, 2, 3, 4]);
    expect((await queueOf(ids[3]!))!.reason).toBe("no_agent_matches");
  });
});

describe("what the scheduler's matching records (migration 005)", () => {
  it("orders owners by owner_usage and one owner's jobs by the priority column", async () => {
    await pool.query("INSERT INTO owner_usage (owner, last_assigned_at) VALUES ('alice', ?), ('bob', ?)", [at(1000), at(5000)]);
    const bobs = await job({}, "bob");
    const plain = await job({}, "alice");
    const urgent = await job({}, "alice");
    await pool.execute("UPDATE jobs SET priority = 7 WHERE id = ?", [urgent]);
    expect((await queueOf(urgent))!.position).toBe(1);
    expect((await queueOf(bobs))!.position).toBe(2);
    expect((await queueOf(plain))!.position).toBe(3);
  });

  it("counts only the GPUs attempts.gpus names as held, so a free GPU that fits is seen free", async () => {
    const a = await agent({ slots: 4, gpus: [rtx(0), { index: 1, name: "NVIDIA A100", memory_mb: 81_920 }] });
    const other = await job({ requirements: { gpus: 1, gpu_name: "a100" } }, "bob");
    await hold(a, other, clock, [1]);
    expect((await queueOf(await job({ requirements: { gpus: 1, gpu_name: "4090" } })))!.reason).toBe("waiting_for_fair_share");
    expect((await queueOf(await job({ requirements: { gpus: 1, gpu_name: "a100" } })))!.reason).toBe("agents_busy");
  });
});

describe("PENDING jobs by reason", () => {
  it("counts PENDING jobs under each reason", async () => {
    await agent({ os: "linux" });
    await job();
    await job();
    await job({ requirements: { os: "windows" } });
    expect(Object.fromEntries(await pendingByReason(pool))).toEqual({ waiting_for_fair_share: 2, no_agent_matches: 1 });
  });
});

// Fixtures for the matching tests: agents with slots and GPUs, jobs of several owners,
// and reads of what MySQL says is held, on a test environment's real MariaDB.
import { checkJobSpec, type Gpu, type JobSpec } from "@labbridge/protocol";
import { createEnrollmentToken, createJob, enrollAgent, markAgentOnline, type Pool } from "@labbridge/store";

/** A GPU of the inventory as hello reports it (index and uuid included). */
export const gpu = (index: number, name = "NVIDIA GeForce RTX 4090", memory_mb = 24564) =>
  ({ index, uuid: `GPU-${index}-${Math.random().toString(16).slice(2, 10)}`, name, memory_mb }) as Gpu & { index: number };

/** Enrolls an agent and marks it ONLINE with `slots` slots and these GPUs. */
export async function onlineAgent(
  pool: Pool,
  opts: { now: number; slots?: number; gpus?: Gpu[]; os?: string; labels?: Record<string, string>; gatewayId?: string },
): Promise<string> {
  const now = new Date(opts.now);
  const { token } = await createEnrollmentToken(pool, { createdBy: "admin", ttlSeconds: 600, labels: opts.labels ?? {}, now });
  const { agentId } = (await enrollAgent(pool, { token, name: "ws", hostname: "ws", os: opts.os ?? "linux", labels: {}, now }))!;
  await markAgentOnline(pool, { agentId, gatewayId: opts.gatewayId ?? "gw-a", sessionId: `ses_${agentId}`, hostname: "ws", gpus: opts.gpus ?? [], at: now });
  await pool.execute("UPDATE agents SET slots = ? WHERE id = ?", [opts.slots ?? 1, agentId]);
  return agentId;
}

/** A checked spec; `priority` is added as the API passes it on (the spec type may not name it yet). */
export function jobSpec(body: Record<string, unknown> = {}, priority?: number): JobSpec {
  const checked = checkJobSpec({ command: ["python", "train.py"], ...body });
  if (!checked.ok) throw new Error(`bad spec: ${JSON.stringify(checked.problems)}`);
  return (priority === undefined ? checked.value : { ...checked.value, priority }) as JobSpec;
}

/** Submits a job for `owner` at `at`; returns its id. */
export async function submit(pool: Pool, owner: string, at: number, body: Record<string, unknown> = {}, priority?: number): Promise<string> {
  const { job } = await createJob(pool, { owner, spec: jobSpec(body, priority), idempotencyKey: null, now: new Date(at) });
  return job.id;
}

/** The state of each of these jobs, by id. */
export async function states(pool: Pool, jobIds: string[]): Promise<Map<string, string>> {
  const [rows] = await pool.query("SELECT id, state FROM jobs WHERE id IN (?)", [jobIds]);
  return new Map((rows as { id: string; state: string }[]).map((r) => [r.id, r.state]));
}

/** Active attempts (ASSIGNED or RUNNING) with the GPU indices they hold. */
export async function activeAttempts(pool: Pool): Promise<{ id: string; job_id: string; agent_id: string; gpus: number[] }[]> {
  const [rows] = await pool.query("SELECT id, job_id, agent_id, gpus FROM attempts WHERE state IN ('ASSIGNED','RUNNING') ORDER BY assigned_at, id");
  return (rows as { id: string; job_id: string; agent_id: string; gpus: string }[]).map((r) => ({
    ...r, gpus: (JSON.parse(r.gpus) as { index: number }[]).map((g) => g.index),
  }));
}

/** Slots or GPUs held twice, per MySQL: agents over their slots, and GPUs two active attempts hold. */
export async function doubleBookings(pool: Pool): Promise<string[]> {
  const problems: string[] = [];
  const [slots] = await pool.query(
    `SELECT a.id, a.slots, COUNT(t.id) AS n FROM agents a JOIN attempts t ON t.agent_id = a.id AND t.state IN ('ASSIGNED','RUNNING')
     GROUP BY a.id, a.slots HAVING n > a.slots`,
  );
  for (const r of slots as { id: string; slots: number; n: number }[]) problems.push(`agent ${r.id} holds ${r.n} attempts in ${r.slots} slots`);
  const held = new Map<string, string>();
  for (const a of await activeAttempts(pool)) {
    for (const g of a.gpus) {
      const key = `${a.agent_id}#${g}`;
      if (held.has(key)) problems.push(`GPU ${key} held by ${held.get(key)} and ${a.id}`);
      held.set(key, a.id);
    }
  }
  return problems;
}

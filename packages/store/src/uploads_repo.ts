// Uploads: the API hands out a presigned PUT for a new input key and remembers its size
// and sha256, so jobs naming that key tell the agent what to check.
import type { JobInput } from "@labbridge/protocol";
import type { Pool } from "./db.ts";

/** Records an upload the API presigned. */
export async function recordUpload(
  pool: Pool,
  args: { id: string; owner: string; key: string; name: string; size: number; sha256: string | null; now: Date },
): Promise<void> {
  await pool.execute(
    "INSERT INTO uploads (id, owner, object_key, name, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [args.id, args.owner, args.key, args.name, args.size, args.sha256, args.now],
  );
}

/** Fills in size and sha256 of inputs whose keys came from uploads. */
export async function describeInputs(pool: Pool, inputs: JobInput[]): Promise<JobInput[]> {
  if (inputs.length === 0) return inputs;
  const [rows] = await pool.query(
    `SELECT object_key, size, sha256 FROM uploads WHERE object_key IN (${inputs.map(() => "?").join(",")})`,
    inputs.map((i) => i.key),
  );
  const byKey = new Map((rows as { object_key: string; size: number; sha256: string | null }[]).map((r) => [r.object_key, r]));
  return inputs.map((i) => {
    const u = byKey.get(i.key);
    if (!u) return i;
    return { ...i, size: Number(u.size), ...(u.sha256 ? { sha256: u.sha256 } : {}) };
  });
}

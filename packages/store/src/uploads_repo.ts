// Uploads: the API hands out a presigned PUT for a new input key and remembers its size
// and sha256, so jobs naming that key tell the agent what to check.
import type { JobInput } from "@labbridge/protocol";
import type { Pool } from "./db.ts";

/** An upload the API planned. */
export interface UploadRecord {
  id: string;
  owner: string;
  key: string;
  name: string;
  size: number;
  sha256: string | null;
  /** The store's multipart UploadId; null for a file sent in one PUT. */
  storeUploadId: string | null;
  /** Bytes per part of the plan; null for a file sent in one PUT. */
  partSize: number | null;
}

/** Records an upload the API presigned. */
export async function recordUpload(pool: Pool, args: UploadRecord & { now: Date }): Promise<void> {
  await pool.execute(
    "INSERT INTO uploads (id, owner, object_key, name, size, sha256, store_upload_id, part_size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [args.id, args.owner, args.key, args.name, args.size, args.sha256, args.storeUploadId, args.partSize, args.now],
  );
}

/** The upload `id`, or null when there is none. */
export async function getUpload(pool: Pool, id: string): Promise<UploadRecord | null> {
  const [rows] = await pool.query(
    "SELECT id, owner, object_key, name, size, sha256, store_upload_id, part_size FROM uploads WHERE id = ?",
    [id],
  );
  type Row = { id: string; owner: string; object_key: string; name: string; size: number; sha256: string | null; store_upload_id: string | null; part_size: number | null };
  const row = (rows as Row[])[0];
  if (!row) return null;
  return {
    id: row.id, owner: row.owner, key: row.object_key, name: row.name, size: Number(row.size), sha256: row.sha256,
    storeUploadId: row.store_upload_id, partSize: row.part_size === null ? null : Number(row.part_size),
  };
}

/** An input as found in storage records: its owner, and size and sha256 when it came from an upload. */
export interface KnownInput {
  input: JobInput;
  owner: string | null;
}

/**
 * Looks up who owns each input key: an upload's owner (with its size and sha256 filled in
 * for the agent to check), or the owner of the job whose output it is. Unknown keys have
 * owner null.
 */
export async function describeInputs(pool: Pool, inputs: JobInput[]): Promise<KnownInput[]> {
  if (inputs.length === 0) return [];
  const marks = inputs.map(() => "?").join(",");
  const [uploads] = await pool.query(
    `SELECT object_key, owner, size, sha256 FROM uploads WHERE object_key IN (${marks})`,
    inputs.map((i) => i.key),
  );
  const [outputs] = await pool.query(
    `SELECT o.object_key, j.owner, o.size, o.sha256 FROM job_outputs o JOIN jobs j ON j.id = o.job_id WHERE o.object_key IN (${marks})`,
    inputs.map((i) => i.key),
  );
  type Row = { object_key: string; owner: string; size: number; sha256: string | null };
  const byKey = new Map([...(outputs as Row[]), ...(uploads as Row[])].map((r) => [r.object_key, r]));
  return inputs.map((input) => {
    const known = byKey.get(input.key);
    if (!known) return { input, owner: null };
    return { input: { ...input, size: Number(known.size), ...(known.sha256 ? { sha256: known.sha256 } : {}) }, owner: known.owner };
  });
}

import { createHash, randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join, resolve, sep } from "node:path";

// Files are named by a hash of the key, not by the key: OSS keys "a" and "a/b" can both
// exist, "dir/" is a key of its own, and no key can then climb out of the data directory.
// Each object's metadata sidecar (<hash>.json) names its data file, so replacing an object
// is one rename of the sidecar. Layout:
//   objects/<sha256(key)>.json          metadata, the commit point
//   objects/<sha256(key)>.<rand>.data   bytes
//   uploads/<UploadId>/upload.json      multipart upload in progress, with part-<n>.json/.data
//   tmp/                                bodies being received

/** Absolute paths of one store's data directory. */
export interface DiskLayout {
  root: string;
  objects: string;
  uploads: string;
  tmp: string;
}

/** Creates the directories of a store under `dataDir`; bodies half-received before a restart are dropped. */
export async function prepareLayout(dataDir: string): Promise<DiskLayout> {
  const root = resolve(dataDir);
  const layout = { root, objects: join(root, "objects"), uploads: join(root, "uploads"), tmp: join(root, "tmp") };
  await rm(layout.tmp, { recursive: true, force: true });
  for (const dir of [layout.objects, layout.uploads, layout.tmp]) await mkdir(dir, { recursive: true });
  return layout;
}

/** `name` inside `dir`; throws when the result would leave the store's data directory. */
export function inside(layout: DiskLayout, dir: string, name: string): string {
  const path = resolve(dir, name);
  if (!path.startsWith(layout.root + sep)) {
    throw new Error(`Path escapes the data directory ${JSON.stringify(layout.root)}: ${JSON.stringify(name)}`);
  }
  return path;
}

/** File-name stem of `key`'s files. */
export function keyHash(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** A fresh suffix that keeps a new data file apart from the one it replaces. */
export function uniqueSuffix(): string {
  return randomBytes(8).toString("hex");
}

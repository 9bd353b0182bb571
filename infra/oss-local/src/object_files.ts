import { type FileHandle, open, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { type DiskLayout, inside, keyHash, uniqueSuffix } from "./disk_layout.ts";
import type { KeyLock } from "./key_lock.ts";
import { OssError } from "./oss_error.ts";

/** What the sidecar of an object records; what GET and HEAD answer with besides the bytes. */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Quoted, as sent in the ETag header. */
  etag: string;
  contentType: string;
  /** HTTP date of the last write. */
  lastModified: string;
  objectType: "Normal" | "Multipart";
  /** x-oss-meta-* headers given at upload, names lowercased. */
  userMeta: Record<string, string>;
  /** Standard headers stored at upload and sent back (Cache-Control, Content-Disposition, ...). */
  storedHeaders: Record<string, string>;
  /** Name of the data file in objects/. */
  dataFile: string;
}

/** An object opened for reading; close `handle` when done. */
export interface OpenObject {
  meta: ObjectMeta;
  handle: FileHandle;
}

/** Object files of one store. */
export class ObjectFiles {
  constructor(
    private readonly layout: DiskLayout,
    private readonly lock: KeyLock,
  ) {}

  /** The metadata of `key`, or null when there is no such object. */
  async readMeta(key: string): Promise<ObjectMeta | null> {
    try {
      return JSON.parse(await readFile(this.sidecarPath(key), "utf8")) as ObjectMeta;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** Opens `key` for reading, or null when there is no such object. */
  async open(key: string): Promise<OpenObject | null> {
    // A concurrent overwrite may delete the data file between reading the sidecar and
    // opening it; the sidecar read again then names the new one.
    for (let attempt = 0; attempt < 5; attempt++) {
      const meta = await this.readMeta(key);
      if (!meta) return null;
      try {
        return { meta, handle: await open(inside(this.layout, this.layout.objects, meta.dataFile), "r") };
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    throw new Error(`Object data kept disappearing while opening ${JSON.stringify(key)}`);
  }

  /**
   * Makes the file at `tempPath` the content of `meta.key`, replacing any previous object
   * unless `forbidOverwrite` (then 409 FileAlreadyExists, as x-oss-forbid-overwrite does).
   */
  async commit(meta: Omit<ObjectMeta, "dataFile">, tempPath: string, forbidOverwrite = false): Promise<ObjectMeta> {
    const dataFile = `${keyHash(meta.key)}.${uniqueSuffix()}.data`;
    const full: ObjectMeta = { ...meta, dataFile };
    await rename(tempPath, inside(this.layout, this.layout.objects, dataFile));
    await this.lock.run(`object:${meta.key}`, async () => {
      const previous = await this.readMeta(meta.key);
      if (previous && forbidOverwrite) {
        await this.removeData(dataFile);
        throw new OssError(409, "FileAlreadyExists", `Object ${JSON.stringify(meta.key)} already exists: x-oss-forbid-overwrite is true`);
      }
      const sidecarTemp = inside(this.layout, this.layout.tmp, `${uniqueSuffix()}.json`);
      await writeFile(sidecarTemp, JSON.stringify(full), { flag: "wx" });
      await rename(sidecarTemp, this.sidecarPath(meta.key));
      if (previous && previous.dataFile !== dataFile) await this.removeData(previous.dataFile);
    });
    return full;
  }

  /** Deletes `key`; a missing object is not an error, as in OSS. */
  async delete(key: string): Promise<void> {
    await this.lock.run(`object:${key}`, async () => {
      const previous = await this.readMeta(key);
      if (!previous) return;
      await unlink(this.sidecarPath(key)).catch(ignoreNotFound);
      await this.removeData(previous.dataFile);
    });
  }

  private sidecarPath(key: string): string {
    return inside(this.layout, this.layout.objects, `${keyHash(key)}.json`);
  }

  private async removeData(dataFile: string): Promise<void> {
    await unlink(inside(this.layout, this.layout.objects, dataFile)).catch(ignoreNotFound);
  }
}

/** Whether `error` is a missing-file error. */
export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === "ENOENT";
}

/** Swallows a missing-file error, rethrows any other. */
export function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) throw error;
}

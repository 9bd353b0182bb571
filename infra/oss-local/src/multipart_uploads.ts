import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { type DiskLayout, inside, uniqueSuffix } from "./disk_layout.ts";
import type { KeyLock } from "./key_lock.ts";
import { ignoreNotFound, isNotFound, type ObjectFiles, type ObjectMeta } from "./object_files.ts";
import { noSuchUpload, OssError } from "./oss_error.ts";
import type { ReceivedBody } from "./receive_body.ts";

// Multipart uploads as OSS runs them: parts numbered 1..10000 arrive in any order and may be
// re-sent; completion names the parts to keep, in ascending order, with their ETags, and
// every part but the last must be at least 100 KB.

/** What InitiateMultipartUpload records for the object to be made. */
export interface UploadRecord {
  key: string;
  contentType: string;
  userMeta: Record<string, string>;
  storedHeaders: Record<string, string>;
  /** RFC 3339 time of initiation. */
  initiated: string;
}

/** One uploaded part. */
export interface PartRecord {
  partNumber: number;
  /** Quoted uppercase hex MD5, as sent in the ETag header. */
  etag: string;
  size: number;
  /** RFC 3339 time of upload. */
  lastModified: string;
  dataFile: string;
}

/** A part named in CompleteMultipartUpload. */
export interface RequestedPart {
  partNumber: number;
  etag: string;
}

/** Smallest size OSS allows for a part that is not the last. */
export const MIN_PART_SIZE = 100 * 1024;
/** Highest part number OSS accepts. */
export const MAX_PART_NUMBER = 10_000;
const UPLOAD_ID = /^[0-9A-F]{32}$/;

/** The multipart uploads of one store. */
export class MultipartUploads {
  constructor(
    private readonly layout: DiskLayout,
    private readonly objects: ObjectFiles,
    private readonly lock: KeyLock,
    private readonly clock: () => number,
  ) {}

  /** Starts an upload to `record.key` and returns its UploadId. */
  async initiate(record: UploadRecord): Promise<string> {
    const uploadId = uniqueSuffix().toUpperCase() + uniqueSuffix().toUpperCase();
    const dir = inside(this.layout, this.layout.uploads, uploadId);
    await mkdir(dir);
    await writeFile(inside(this.layout, dir, "upload.json"), JSON.stringify(record), { flag: "wx" });
    return uploadId;
  }

  /** The upload `uploadId` of `key`; 404 NoSuchUpload when it is unknown, finished or for another key. */
  async record(key: string, uploadId: string): Promise<UploadRecord> {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    try {
      const record = JSON.parse(await readFile(this.file(uploadId, "upload.json"), "utf8")) as UploadRecord;
      if (record.key !== key) throw noSuchUpload(uploadId);
      return record;
    } catch (error) {
      if (isNotFound(error)) throw noSuchUpload(uploadId);
      throw error;
    }
  }

  /** Stores `body` as part `partNumber`, replacing an earlier one of that number, and returns its ETag. */
  async putPart(key: string, uploadId: string, partNumber: number, body: ReceivedBody): Promise<string> {
    const part: PartRecord = {
      partNumber,
      etag: `"${body.md5.toString("hex").toUpperCase()}"`,
      size: body.size,
      lastModified: new Date(this.clock()).toISOString(),
      dataFile: `part-${partNumber}.${uniqueSuffix()}.data`,
    };
    try {
      await this.lock.run(`upload:${uploadId}`, async () => {
        await this.record(key, uploadId);
        const previous = await this.readPart(uploadId, partNumber);
        await rename(body.path, this.file(uploadId, part.dataFile));
        const temp = inside(this.layout, this.layout.tmp, `${uniqueSuffix()}.json`);
        await writeFile(temp, JSON.stringify(part), { flag: "wx" });
        await rename(temp, this.file(uploadId, `part-${partNumber}.json`));
        if (previous) await unlink(this.file(uploadId, previous.dataFile)).catch(ignoreNotFound);
      });
    } finally {
      await unlink(body.path).catch(ignoreNotFound);
    }
    return part.etag;
  }

  /** Every part uploaded so far, by ascending number. */
  async listParts(key: string, uploadId: string): Promise<PartRecord[]> {
    await this.record(key, uploadId);
    const names = await readdir(inside(this.layout, this.layout.uploads, uploadId));
    const parts: PartRecord[] = [];
    for (const name of names) {
      const m = /^part-(\d+)\.json$/.exec(name);
      if (!m) continue;
      const part = await this.readPart(uploadId, Number(m[1]));
      if (part) parts.push(part);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Joins `requested` parts, in order, into the object and ends the upload. */
  async complete(key: string, uploadId: string, requested: RequestedPart[]): Promise<ObjectMeta> {
    return this.lock.run(`upload:${uploadId}`, async () => {
      const record = await this.record(key, uploadId);
      const parts = await this.checkRequestedParts(uploadId, requested);
      const temp = inside(this.layout, this.layout.tmp, `${uniqueSuffix()}.body`);
      const files = parts.map((p) => this.file(uploadId, p.dataFile));
      try {
        // One part open at a time, streamed: the object is never held in memory.
        await pipeline(async function* () {
          for (const file of files) yield* createReadStream(file);
        }, createWriteStream(temp, { flags: "wx" }));
        const meta = await this.objects.commit(
          {
            key,
            size: parts.reduce((sum, p) => sum + p.size, 0),
            etag: multipartEtag(parts),
            contentType: record.contentType,
            lastModified: new Date(this.clock()).toUTCString(),
            objectType: "Multipart",
            userMeta: record.userMeta,
            storedHeaders: record.storedHeaders,
          },
          temp,
        );
        await rm(inside(this.layout, this.layout.uploads, uploadId), { recursive: true, force: true });
        return meta;
      } finally {
        await unlink(temp).catch(ignoreNotFound);
      }
    });
  }

  /** Ends the upload and drops its parts. */
  async abort(key: string, uploadId: string): Promise<void> {
    await this.lock.run(`upload:${uploadId}`, async () => {
      await this.record(key, uploadId);
      await rm(inside(this.layout, this.layout.uploads, uploadId), { recursive: true, force: true });
    });
  }

  private async checkRequestedParts(uploadId: string, requested: RequestedPart[]): Promise<PartRecord[]> {
    if (requested.length === 0) {
      throw new OssError(400, "MalformedXML", "Complete request lists no parts: name at least one <Part>");
    }
    const parts: PartRecord[] = [];
    for (const [i, want] of requested.entries()) {
      const prior = requested[i - 1];
      if (prior && want.partNumber <= prior.partNumber) {
        throw new OssError(400, "InvalidPartOrder", `Part ${want.partNumber} follows part ${prior.partNumber}: list parts once each, in ascending order`);
      }
      const part = await this.readPart(uploadId, want.partNumber);
      if (!part || normalizeEtag(part.etag) !== normalizeEtag(want.etag)) {
        throw new OssError(400, "InvalidPart", `Part ${want.partNumber} with ETag ${JSON.stringify(want.etag)} was not uploaded: check the part number and ETag`, {
          PartNumber: String(want.partNumber),
          ETag: want.etag,
        });
      }
      parts.push(part);
    }
    for (const part of parts.slice(0, -1)) {
      if (part.size < MIN_PART_SIZE) {
        throw new OssError(400, "EntityTooSmall", `Part ${part.partNumber} has ${part.size} bytes: every part but the last needs at least ${MIN_PART_SIZE}`, {
          PartNumber: String(part.partNumber),
        });
      }
    }
    return parts;
  }

  private async readPart(uploadId: string, partNumber: number): Promise<PartRecord | null> {
    try {
      return JSON.parse(await readFile(this.file(uploadId, `part-${partNumber}.json`), "utf8")) as PartRecord;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private file(uploadId: string, name: string): string {
    return inside(this.layout, inside(this.layout, this.layout.uploads, uploadId), name);
  }
}

/** ETag of a multipart object as OSS makes it: MD5 of the parts' binary MD5s, then -<count>. */
function multipartEtag(parts: PartRecord[]): string {
  const hash = createHash("md5");
  for (const part of parts) hash.update(Buffer.from(normalizeEtag(part.etag), "hex"));
  return `"${hash.digest("hex").toUpperCase()}-${parts.length}"`;
}

function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^"|"$/g, "").toUpperCase();
}

import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { type DiskLayout, inside, uniqueSuffix } from "./disk_layout.ts";
import { OssError } from "./oss_error.ts";

/** A request body saved to a temporary file. */
export interface ReceivedBody {
  path: string;
  size: number;
  md5: Buffer;
}

/**
 * Streams `body` into a new file under tmp/, hashing on the way, and checks it against the
 * base64 `contentMd5` header when one was sent; the file is removed on any failure.
 */
export async function receiveBody(layout: DiskLayout, body: Readable, contentMd5: string): Promise<ReceivedBody> {
  if (contentMd5 !== "" && Buffer.from(contentMd5, "base64").length !== 16) {
    throw new OssError(400, "InvalidDigest", `Invalid Content-MD5 ${JSON.stringify(contentMd5)}: not a base64 MD5 digest`);
  }
  const path = inside(layout, layout.tmp, `${uniqueSuffix()}.body`);
  const hash = createHash("md5");
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(path, { flags: "wx" }));
    const md5 = hash.digest();
    if (contentMd5 !== "" && md5.toString("base64") !== contentMd5) {
      throw new OssError(400, "InvalidDigest", `Content-MD5 ${JSON.stringify(contentMd5)} does not match the body: received ${md5.toString("base64")}`);
    }
    return { path, size, md5 };
  } catch (error) {
    await unlink(path).catch(() => undefined);
    throw error;
  }
}

import { OssError } from "./oss_error.ts";

/** Inclusive byte positions of a single-range request. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The range a Range header asks of an object of `size` bytes, or null to send it whole.
 * As OSS does, a header it cannot use (malformed, several ranges) is ignored, and a
 * range starting past the end is 416 InvalidRange.
 */
export function parseRange(header: string, size: number): ByteRange | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  const [, first = "", last = ""] = m;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw invalidRange(header, size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return null;
  if (start >= size) throw invalidRange(header, size);
  return { start, end };
}

function invalidRange(header: string, size: number): OssError {
  return new OssError(416, "InvalidRange", `Range ${JSON.stringify(header)} is outside the object: it has ${size} bytes`);
}

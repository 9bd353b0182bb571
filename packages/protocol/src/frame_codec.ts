// Compressed frames (decision 0014). Both sides offer "deflate-raw" in hello/welcome; once
// agreed, a frame of COMPRESS_MIN_BYTES or more may travel as a binary frame holding the
// deflate-raw of its UTF-8 JSON text. Output-heavy attempts send thousands of paths, keys
// and presigned URLs that repeat almost entirely, so this cuts their control bytes about
// sevenfold, while heartbeats and acks stay plain text. MAX_FRAME_BYTES bounds the
// inflated text, so a small binary frame can never inflate into a large one.
//
// The one file of this package that is not web platform: it uses node:zlib, which Node and
// Deno both provide, for a synchronous codec (CompressionStream is async, and sends are
// not). It is exported as "@labbridge/protocol/frame_codec", not from the index, so
// browser code that imports the protocol never pulls it in.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { MAX_FRAME_BYTES } from "./ws_messages.ts";

/** The one compression the protocol knows, as named in hello's `compression` and welcome's. */
export const FRAME_COMPRESSION = "deflate-raw";
/** Frames shorter than this go as text: deflate gains nothing on a heartbeat. */
export const COMPRESS_MIN_BYTES = 1024;

/** The frame to send for `text`: deflated bytes when agreed and worth it, else the text itself. */
export function encodeFrame(text: string, compress: boolean): string | Uint8Array {
  if (!compress || text.length < COMPRESS_MIN_BYTES) return text;
  return new Uint8Array(deflateRawSync(text));
}

/** A received frame as text, or why it cannot be read. */
export type DecodedFrame = { ok: true; text: string } | { ok: false; reason: "too_large" | "corrupt" };

/** Reads a binary frame back into its text; more than MAX_FRAME_BYTES inflated is refused without inflating further. */
export function decodeBinaryFrame(data: Uint8Array): DecodedFrame {
  try {
    return { ok: true, text: inflateRawSync(data, { maxOutputLength: MAX_FRAME_BYTES }).toString("utf8") };
  } catch (e) {
    return { ok: false, reason: (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" ? "too_large" : "corrupt" };
  }
}

import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { MAX_FRAME_BYTES } from "@labbridge/protocol";
import { COMPRESS_MIN_BYTES, decodeBinaryFrame, encodeFrame } from "@labbridge/protocol/frame_codec";

describe("compressed frames", () => {
  const big = JSON.stringify({ type: "presign.request", files: Array.from({ length: 200 }, (_, i) => ({ path: `outputs/ckpt/shard-${i}.pt`, size: i })) });

  it("a large frame goes deflated when both sides agreed, and inflates back to the same text", () => {
    const frame = encodeFrame(big, true);
    expect(frame).toBeInstanceOf(Uint8Array);
    expect((frame as Uint8Array).byteLength).toBeLessThan(big.length / 4);
    expect(decodeBinaryFrame(frame as Uint8Array)).toEqual({ ok: true, text: big });
  });

  it("a small frame, or any frame without agreement, stays text", () => {
    const heartbeat = JSON.stringify({ type: "heartbeat", running: [] });
    expect(heartbeat.length).toBeLessThan(COMPRESS_MIN_BYTES);
    expect(encodeFrame(heartbeat, true)).toBe(heartbeat);
    expect(encodeFrame(big, false)).toBe(big);
  });

  it("a small frame that inflates past the frame limit is refused as too large, without inflating it all", () => {
    const bomb = new Uint8Array(deflateRawSync(Buffer.alloc(64 * 1024 * 1024, 0x20)));
    expect(bomb.byteLength).toBeLessThan(100 * 1024);
    expect(decodeBinaryFrame(bomb)).toEqual({ ok: false, reason: "too_large" });
    expect(decodeBinaryFrame(new Uint8Array(deflateRawSync(Buffer.alloc(MAX_FRAME_BYTES, 0x20))))).toMatchObject({ ok: true });
  });

  it("bytes that are not deflate-raw are refused as corrupt", () => {
    expect(decodeBinaryFrame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]))).toEqual({ ok: false, reason: "corrupt" });
  });
});

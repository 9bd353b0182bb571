// UTF-16LE strings as the W-suffixed Win32 functions take them: a NUL-terminated buffer
// handed to FFI as "buffer". JavaScript strings already are UTF-16, so this is a copy of
// the code units, not a re-encoding.

/** `text` as a NUL-terminated UTF-16LE buffer (an LPCWSTR for a "buffer" FFI parameter). */
export function wideString(text: string): Uint8Array<ArrayBuffer> {
  if (text.includes("\0")) throw new RangeError(`String "${text.replaceAll("\0", "\\0")}" contains a NUL character`);
  const units = new Uint16Array(text.length + 1);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return new Uint8Array(units.buffer);
}

/** Reads UTF-16LE code units from `bytes` up to the first NUL (or the end). */
export function readWideString(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = "";
  for (let off = 0; off + 1 < bytes.byteLength; off += 2) {
    const unit = view.getUint16(off, true);
    if (unit === 0) break;
    out += String.fromCharCode(unit);
  }
  return out;
}

// Keys come from job specs, agents and clients. Beyond safety on a file system, a key must
// survive a trip through a URL unchanged: WHATWG URL parsing (fetch) folds "." and ".."
// segments (also written %2E), so such a key would be signed for one path and sent to another.

/** OSS refuses keys longer than this many UTF-8 bytes. */
const MAX_KEY_BYTES = 1023;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `key` is not a usable object key, or null when it is. */
export function objectKeyProblem(key: string): string | null {
  if (key.length === 0) return "is empty";
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return "contains a control character";
  if (key.includes("\\")) return "contains a backslash";
  if (key.startsWith("/")) return 'starts with "/"';
  const segments = key.split("/");
  if (segments.includes("..")) return 'contains ".." segment';
  if (segments.includes(".")) return 'contains "." segment';
  // encodeURIComponent throws on these, so no URL could carry the key.
  if (LONE_SURROGATE.test(key)) return "contains a lone surrogate";
  return null;
}

/** Throws when `key` is not a usable object key; returns it otherwise. */
export function assertValidObjectKey(key: string): string {
  const problem = objectKeyProblem(key);
  if (problem) throw new Error(`Invalid object key ${JSON.stringify(key)}: ${problem}`);
  return key;
}

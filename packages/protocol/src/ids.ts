// Sortable unique ids (ULID layout: 48-bit millisecond time + 80 random bits, Crockford
// base32). Uses only globalThis.crypto so the Deno agent and Node services share it.

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Id prefixes, so an id says what it names in logs and in redis-cli. */
export const ID_PREFIX = {
  job: "job_",
  attempt: "att_",
  agent: "agt_",
  upload: "upl_",
  session: "ses_",
  request: "req_",
  apiToken: "tok_",
  enrollmentToken: "enr_",
} as const;

/** Makes a new time-sortable id such as `job_01JD5…`. */
export function newId(prefix: string, now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let random = "";
  for (const b of bytes) random += ALPHABET[b % 32];
  return prefix + time + random;
}

const ID_PATTERN = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `value` looks like an id made by newId with the given prefix. */
export function isId(value: unknown, prefix: string): value is string {
  return typeof value === "string" && value.startsWith(prefix) && ID_PATTERN.test(value);
}

/** The creation time (ms) newId wrote into an id, or null for a string that is not such an id. */
export function idTimeMs(id: string): number | null {
  const m = /^[a-z]{3}_([0-9A-HJKMNP-TV-Z]{10})[0-9A-HJKMNP-TV-Z]{16}$/.exec(id);
  if (!m) return null;
  let t = 0;
  for (const c of m[1]!) t = t * 32 + ALPHABET.indexOf(c);
  return t;
}

// Keeps package-lock.json usable by `npm ci` on every machine. The npm package `deno`
// lists one optional binary package per platform; the registry this project is built
// against serves only the linux-x64 one, so `npm install` leaves the others out of the
// lock, and `npm ci` then refuses the lock as out of sync. This adds lock entries for the
// missing platforms: npm skips them by os/cpu without ever fetching them.
// Runs as the root package's postinstall; safe to run again (it changes nothing then).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const lockPath = fileURLToPath(new URL("../package-lock.json", import.meta.url));
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const deno = lock.packages?.["node_modules/deno"];
if (!deno) process.exit(0);

const PLATFORM = /^@deno\/(darwin|linux|win32)-(x64|arm64)(?:-(glibc|musl))?$/;
let added = 0;
for (const [name, version] of Object.entries(deno.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  const m = PLATFORM.exec(name);
  if (lock.packages[key] || !m) continue;
  lock.packages[key] = { version, cpu: [m[2]], ...(m[3] ? { libc: [m[3]] } : {}), license: "MIT", optional: true, os: [m[1]] };
  added++;
}
if (added > 0) {
  const root = lock.packages[""];
  const rest = Object.keys(lock.packages).filter((k) => k !== "").sort();
  lock.packages = Object.fromEntries([["", root], ...rest.map((k) => [k, lock.packages[k]])]);
  writeFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n");
  console.log(`lockfile_platforms: added ${added} platform entries of deno to package-lock.json`);
}

// The built dashboard (web/dist), read once at start into memory: a few small files. A
// request is answered only from this table, never by opening a path it names, so no
// `..`, encoded or not, can reach a file outside the folder.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Where `npm run build` writes the dashboard. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL("../../../web/dist", import.meta.url));

/** One file as it is served. */
export interface DashboardFile {
  body: Buffer;
  /** The gzip form, when it is smaller (the API box has about 5 Mbit/s). */
  gzip: Buffer | null;
  contentType: string;
  etag: string;
  cacheControl: string;
}

// Only what the build writes; anything else in the folder is not served.
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

// Asset names carry a content hash, so a browser may keep them for good; index.html names
// the current ones and is revalidated every time (ETag), so a new build shows at once.
const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

/** Reads the dashboard folder into a table from URL path ("/", "/assets/app-X.js") to file; null when it was not built. */
export function loadDashboardFiles(dir: string): Map<string, DashboardFile> | null {
  if (!existsSync(join(dir, "index.html"))) return null;
  const files = new Map<string, DashboardFile>();
  for (const path of walk(dir)) {
    const contentType = CONTENT_TYPES[extname(path)];
    if (!contentType) continue;
    const body = readFileSync(path);
    const gz = gzipSync(body, { level: 9 });
    const urlPath = "/" + relative(dir, path).split(sep).join("/");
    files.set(urlPath, {
      body,
      gzip: gz.length < body.length ? gz : null,
      contentType,
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
      cacheControl: urlPath.startsWith("/assets/") ? IMMUTABLE : REVALIDATE,
    });
  }
  const index = files.get("/index.html");
  if (index) files.set("/", index);
  return files;
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type RunningApi } from "@labbridge/api";
import { createTestEnv, type TestEnv } from "../harness/test_env.ts";

// The API serving the built dashboard, over a real socket: a folder laid out as
// `npm run build` lays web/dist, with a secret beside it that no request may read.

const SECRET = "do-not-serve-" + Math.random().toString(36).slice(2);
const SCRIPT = `console.log("dashboard");\n`.repeat(200);

let root: string;
let env: TestEnv;
let api: RunningApi;
let base: string;

/** A GET with the path sent exactly as written (fetch would normalize `..` away first). */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: api.port, path, method: "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "lb-dashboard-"));
  const dist = join(root, "dist");
  mkdirSync(join(dist, "assets"), { recursive: true });
  writeFileSync(join(dist, "index.html"), `<!doctype html><script type="module" src="/assets/main-ABC123.js"></script>`);
  writeFileSync(join(dist, "assets", "main-ABC123.js"), SCRIPT);
  writeFileSync(join(dist, "assets", "main-ABC123.css"), "body{margin:0}");
  // Inside the folder but not a kind of file the build writes: never served either.
  writeFileSync(join(dist, "assets", "notes.env"), SECRET);
  writeFileSync(join(root, "secret.txt"), SECRET);
  env = await createTestEnv({ LB_WEB_DIR: dist }, "lbdash");
  api = await startApi(env.config);
  base = `http://127.0.0.1:${api.port}`;
});

afterAll(async () => {
  await api?.close();
  await env?.cleanup();
  rmSync(root, { recursive: true, force: true });
});

describe("the dashboard's static files", () => {
  it("GET / answers index.html as HTML that browsers revalidate on every load, under a policy allowing only this origin and the store", async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(await res.text()).toContain("/assets/main-ABC123.js");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ${new URL(env.config.storage.endpoint).origin}`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await fetch(`${base}/index.html`)).headers.get("etag")).toBe(res.headers.get("etag"));
  });

  it("a hashed asset comes with its content type and may be cached for good", async () => {
    const js = await fetch(`${base}/assets/main-ABC123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await js.text()).toBe(SCRIPT);
    const css = await fetch(`${base}/assets/main-ABC123.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(await css.text()).toBe("body{margin:0}");
  });

  it("a client that takes gzip gets the smaller compressed bytes, and its ETag answers 304 with no body", async () => {
    const zipped = await rawGet("/assets/main-ABC123.js", { "accept-encoding": "gzip, br" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.headers.vary).toBe("accept-encoding");
    expect(zipped.body.length).toBeLessThan(SCRIPT.length / 10);
    expect(gunzipSync(zipped.body).toString()).toBe(SCRIPT);
    const plain = await rawGet("/assets/main-ABC123.js");
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toBe(SCRIPT);
    const again = await rawGet("/assets/main-ABC123.js", { "if-none-match": String(plain.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it("no path outside the built files is served, however it is spelled", async () => {
    const paths = [
      "/secret.txt", "/../secret.txt", "/assets/../../secret.txt", "/assets/..%2f..%2fsecret.txt", "/assets/%2e%2e/%2e%2e/secret.txt",
      "/assets/..%5c..%5csecret.txt", "/assets/..\\..\\secret.txt", "/index.html/../../secret.txt", "//secret.txt", "/assets/notes.env",
      "/assets/", "/assets", "/assets/main-ABC123.js/", "/%2e%2e/secret.txt", "/assets/main-ABC123.js%00.txt",
    ];
    for (const path of paths) {
      const res = await rawGet(path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.body.toString()).not.toContain(SECRET);
      expect(JSON.parse(res.body.toString()).error.code).toBe("not_found");
    }
  });

  it("the API still answers /healthz, /openapi.json and /v1 beside the dashboard", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    const openapi = await fetch(`${base}/openapi.json`);
    expect(openapi.status).toBe(200);
    expect((await openapi.json()).openapi).toMatch(/^3\./);
    expect((await fetch(`${base}/v1/jobs`)).status).toBe(401);
    const jobs = await fetch(`${base}/v1/jobs`, { headers: { authorization: `Bearer ${env.config.adminToken}` } });
    expect(jobs.status).toBe(200);
    expect(await jobs.json()).toEqual({ items: [], next_cursor: null });
  });

  it("an API whose dashboard was not built answers / with a 404 saying how to build it", async () => {
    const empty = mkdtempSync(join(tmpdir(), "lb-dashboard-empty-"));
    const bare = await createTestEnv({ LB_WEB_DIR: empty }, "lbdash");
    const other = await startApi(bare.config);
    try {
      const res = await fetch(`http://127.0.0.1:${other.port}/`);
      expect(res.status).toBe(404);
      expect((await res.json()).error.message).toBe('Dashboard is not built: run "npm run build"');
    } finally {
      await other.close();
      await bare.cleanup();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

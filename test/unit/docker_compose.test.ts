// docker-compose.yml cannot be run here (no Docker engine), so its syntax and every path
// it names are checked instead: a renamed entry file or Dockerfile fails this test.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as {
  services: Record<string, { build?: { dockerfile: string }; command?: string[] }>;
};

describe("docker-compose.yml", () => {
  it("runs the four services, the migrations, the object store, Redis, MySQL and a demo agent", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["agent", "api", "gateway", "lease-reaper", "migrate", "mysql", "oss", "redis", "scheduler"],
    );
  });

  it("names only Dockerfiles and entry files that exist", () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build) expect(existsSync(join(ROOT, svc.build.dockerfile)), `${name} dockerfile`).toBe(true);
      const entry = svc.command?.find((a) => a.endsWith(".ts"));
      if (entry) expect(existsSync(join(ROOT, entry)), `${name} entry ${entry}`).toBe(true);
    }
  });

  it("gives Redis the AOF configuration", () => {
    const conf = readFileSync(join(ROOT, "infra", "redis", "redis.conf"), "utf8");
    expect(conf).toMatch(/^appendonly yes$/m);
  });
});

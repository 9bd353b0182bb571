// npm run package:agent: the Windows zip, read back with fflate. Everything but the
// downloads (WinSW from GitHub; denort from dl.deno.land, which deno compile needs).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { unzipSync } from "fflate";
import { afterEach, describe, expect, it } from "vitest";
import { agentVersion, assemblePackage, buildPackage, checkWinsw, sha256, WINSW, ZIP_FOLDER } from "../../scripts/package_agent.mjs";

const script = join(import.meta.dirname, "..", "..", "scripts", "package_agent.mjs");
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lb-package-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const fakeExe = new TextEncoder().encode("MZ fake labbridge-agent.exe");
const fakeWinsw = new TextEncoder().encode("MZ fake WinSW-x64.exe");
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

function runScript(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, [script, ...args], { env: { ...process.env, DENORT_BIN: undefined, ...env } as NodeJS.ProcessEnv, encoding: "utf8" });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe("package:agent", () => {
  it("pins WinSW v2.12.0's x64 release asset and a sha256", () => {
    expect(WINSW.url).toBe("https://github.com/winsw/winsw/releases/download/v2.12.0/WinSW-x64.exe");
    expect(WINSW.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a WinSW file whose sha256 is not the pinned one", () => {
    expect(() => checkWinsw(fakeWinsw)).toThrow(`WinSW sha256 "${sha256(fakeWinsw)}" is not the pinned "${WINSW.sha256}": refusing to package it`);
    expect(() => assemblePackage({ exe: fakeExe, winsw: fakeWinsw, xml: "<service/>", installPs1: "", readme: "" })).toThrow(/refusing to package it/);
  });

  it("zips the exe, the renamed WinSW, the service XML, install.ps1 and a README under one folder, bytes unchanged", () => {
    const zip = assemblePackage({ exe: fakeExe, winsw: fakeWinsw, xml: "<service>\n</service>\n", installPs1: "param()\n", readme: "hi\n", winswSha256: sha256(fakeWinsw) });
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(
      ["README.txt", "install.ps1", "labbridge-agent-service.exe", "labbridge-agent-service.xml", "labbridge-agent.exe"].map((f) => `${ZIP_FOLDER}/${f}`),
    );
    expect(files[`${ZIP_FOLDER}/labbridge-agent.exe`]).toEqual(fakeExe);
    expect(files[`${ZIP_FOLDER}/labbridge-agent-service.exe`]).toEqual(fakeWinsw);
    expect(text(files[`${ZIP_FOLDER}/labbridge-agent-service.xml`])).toBe("<service>\r\n</service>\r\n");
  });

  it("without --exe and without DENORT_BIN it says that deno compile would download denort, and stops", () => {
    const r = runScript(["--winsw", script]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: DENORT_BIN is not set: deno compile would download denort from dl.deno.land");
  });

  it("names a --exe or --winsw file that does not exist", () => {
    const r = runScript(["--exe", "/nonexistent/labbridge-agent.exe"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: --exe "/nonexistent/labbridge-agent.exe" does not exist');
  });

  it("the script stops at a WinSW file that is not the pinned one, writing no zip", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "agent.exe"), fakeExe);
    writeFileSync(join(dir, "WinSW-x64.exe"), fakeWinsw);
    const r = runScript(["--exe", join(dir, "agent.exe"), "--winsw", join(dir, "WinSW-x64.exe"), "--out", join(dir, "out")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not the pinned");
    expect(() => readFileSync(join(dir, "out", `labbridge-agent-windows-x64-${agentVersion()}.zip`))).toThrow();
  });

  it("builds the zip with the agent's own service XML (parsed back) and the installer that enrolls and installs", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "agent.exe"), fakeExe);
    writeFileSync(join(dir, "WinSW-x64.exe"), fakeWinsw);
    const built = await buildPackage({ exePath: join(dir, "agent.exe"), winswPath: join(dir, "WinSW-x64.exe"), out: dir, winswSha256: sha256(fakeWinsw) });
    expect(built.path).toBe(join(dir, `labbridge-agent-windows-x64-${agentVersion()}.zip`));
    const zip = readFileSync(built.path);
    expect(sha256(zip)).toBe(built.sha256);
    const files = unzipSync(new Uint8Array(zip));
    const xml = text(files[`${ZIP_FOLDER}/labbridge-agent-service.xml`]);
    expect(XMLValidator.validate(xml)).toBe(true);
    const svc = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml).service;
    expect(svc.id).toBe("labbridge-agent");
    expect(svc.executable).toBe("%BASE%\\labbridge-agent.exe");
    expect(svc.arguments).toBe("run --state-dir %ProgramData%\\LabBridge");
    const ps1 = text(files[`${ZIP_FOLDER}/install.ps1`]);
    expect(ps1).toMatch(/\[Parameter\(Mandatory = \$true\)\]\[string\] \$Server/);
    expect(ps1).toMatch(/\[Parameter\(Mandatory = \$true\)\]\[string\] \$Token/);
    for (const step of ["service install", "'enroll'", "service start", "doctor"]) expect(ps1).toContain(step);
    // The idle reporter starts at every user's logon, in the user's session (decision 0034).
    expect(ps1).toMatch(/Register-ScheduledTask -TaskName 'LabBridge idle reporter'/);
    expect(ps1).toMatch(/idle-reporter --state-dir/);
    expect(ps1).toMatch(/New-ScheduledTaskPrincipal -GroupId 'S-1-5-32-545'/);
    expect(ps1.indexOf("service install")).toBeLessThan(ps1.indexOf("'enroll'"));
  }, 60_000);
});

// The Windows service seam through a recording runner: which tools run, with which
// arguments, and what goes on stdin (the job account's password never on a command line).
// Only a real Windows box runs WinSW, icacls and PowerShell (docs/WINDOWS-CHECKLIST.md).
import { serviceCommand } from "../src/cli/service_command.ts";
import { readJobAccount } from "../src/os/windows/job_account_file.ts";
import {
  aclProblem,
  expandWindowsEnv,
  generatePassword,
  isElevatedGroups,
  jobAccountScript,
  POWERSHELL,
  psQuote,
  STATE_FOLDER_SIDS,
  stateFolderIcaclsArgs,
  windowsServiceSeam,
} from "../src/os/windows/windows_service.ts";
import { parseWinswStatus } from "../src/service/winsw_host.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { recordingRunner } from "./helpers/recording_runner.ts";
import { parseXml } from "./helpers/xml.ts";

const INSTALL = "C:\\Program Files\\LabBridge";
const WINSW = `${INSTALL}/labbridge-agent-service.exe`;

/** `service install` as an admin runs it from the install folder, its lines into `lines`. */
function install(seam: Parameters<typeof serviceCommand>[1]["seam"], lines: string[]): Promise<number> {
  return serviceCommand({ action: "install", stateDir: null, jobUser: null, platform: null }, {
    seam,
    execPath: `${INSTALL}\\labbridge-agent.exe`,
    print: (l) => lines.push(l),
  });
}

/** A Windows seam whose files land in a temp folder (node:path joins with "/" here). */
async function seamWith(answer: Parameters<typeof recordingRunner>[0]) {
  const files = new Map<string, string>();
  const rec = recordingRunner(answer);
  const tmp = await Deno.makeTempDir();
  const seam = windowsServiceSeam({
    run: rec.run,
    env: { ProgramData: "C:\\ProgramData", USERNAME: "admin" },
    installDir: INSTALL,
    writeTextFile: async (p, t) => {
      files.set(p, t);
      // job-account.json also goes to disk, so the agent's own reader can read it back.
      if (p.endsWith("job-account.json")) await Deno.writeTextFile(`${tmp}/job-account.json`, t);
    },
    mkdir: () => Promise.resolve(),
  });
  return { seam, rec, files, tmp };
}

Deno.test("an elevated token is told by the High (or System) mandatory label in whoami /groups", () => {
  assert(isElevatedGroups("Mandatory Label\\High Mandatory Level   Label   S-1-16-12288"));
  assert(isElevatedGroups("Mandatory Label\\System Mandatory Level Label   S-1-16-16384"));
  assert(!isElevatedGroups("Mandatory Label\\Medium Mandatory Level Label   S-1-16-8192"));
});

Deno.test("%ProgramData% expands without case, as Windows does; unknown names stay", () => {
  assertEquals(expandWindowsEnv("%PROGRAMDATA%\\LabBridge", { ProgramData: "C:\\ProgramData" }), "C:\\ProgramData\\LabBridge");
  assertEquals(expandWindowsEnv("%NOPE%\\x", {}), "%NOPE%\\x");
});

Deno.test("the state folder's ACL drops inherited entries and grants full control to SYSTEM and Administrators by SID only", () => {
  assertEquals(stateFolderIcaclsArgs("C:\\ProgramData\\LabBridge"), [
    "C:\\ProgramData\\LabBridge",
    "/inheritance:r",
    "/grant:r",
    "*S-1-5-18:(OI)(CI)F",
    "*S-1-5-32-544:(OI)(CI)F",
  ]);
});

Deno.test("an access list with inherited entries, or one that admits Users, is a problem; SYSTEM and Administrators alone is not", () => {
  const dir = "C:\\ProgramData\\LabBridge";
  assertEquals(aclProblem(dir, "S-1-5-18 Allow False\r\nS-1-5-32-544 Allow False\r\n"), null);
  assertEquals(
    aclProblem(dir, "S-1-5-18 Allow False\r\nS-1-5-32-545 Allow True\r\n"),
    `"${dir}" inherits access entries from its parent: any local user may read the credential`,
  );
  assertEquals(aclProblem(dir, "S-1-5-18 Allow False\r\nS-1-5-32-545 Allow False\r\nS-1-1-0 Deny False\r\n"), `"${dir}" also admits S-1-5-32-545`);
  assertEquals(aclProblem(dir, ""), `"${dir}" has no access entries`);
});

Deno.test("generated passwords are 32 characters with upper, lower, digit and symbol, and differ each time", () => {
  const a = generatePassword();
  const b = generatePassword();
  assertEquals(a.length, 32);
  assert(a !== b);
  for (const re of [/[A-Z]/, /[a-z]/, /[0-9]/, /[!#%+\-.:=?@_~]/]) assert(re.test(a), `${re} in the password`);
  assert(!/['"`$\s]/.test(a), "nothing PowerShell or JSON would need to escape");
});

Deno.test("the job account script creates or updates the user, grants batch logon, denies the others and hides it; quotes stay quoted", () => {
  const script = jobAccountScript("labbridge-job", "pa'ss");
  assert(script.includes(`ConvertTo-SecureString ${psQuote("pa'ss")} -AsPlainText -Force`));
  assertEquals(psQuote("pa'ss"), "'pa''ss'");
  for (
    const needed of [
      "New-LocalUser",
      "Set-LocalUser",
      "-PasswordNeverExpires",
      "SeBatchLogonRight",
      "SeDenyInteractiveLogonRight",
      "SeDenyRemoteInteractiveLogonRight",
      "SeDenyNetworkLogonRight",
      "SpecialAccounts\\UserList",
      "S-1-5-32-544",
    ]
  ) {
    assert(script.includes(needed), needed);
  }
});

Deno.test("service install on Windows: ACL first, then the job account through PowerShell's stdin, then WinSW install with the generated XML", async () => {
  const { seam, rec, files, tmp } = await seamWith((c) => {
    if (c.program === "whoami") return { stdout: "S-1-16-12288" };
    if (c.program === POWERSHELL[0]) return { stdout: "S-1-5-21-1-2-3-1001\r\n" };
    if (c.program === WINSW && c.args[0] === "status") return { stdout: "NonExistent\r\n" };
  });
  try {
    const lines: string[] = [];
    const code = await install(seam, lines);
    assertEquals(code, 0, lines.join("\n"));
    const state = "C:\\ProgramData\\LabBridge";
    assertEquals(rec.calls.map((c) => c.program), ["whoami", "icacls", POWERSHELL[0], WINSW, WINSW]);
    assertEquals(rec.calls[1]!.args, stateFolderIcaclsArgs(state));
    assertEquals(rec.calls[2]!.args, [...POWERSHELL.slice(1)]);
    assertEquals(rec.calls.slice(3).map((c) => c.args), [["status"], ["install"]]);
    // The password: in the script on stdin and in job-account.json, never in any argument.
    const account = (await readJobAccount(tmp))!;
    assertEquals(account.user, "labbridge-job");
    assert(rec.calls[2]!.stdin!.includes(psQuote(account.password)));
    assert(rec.calls.every((c) => c.args.every((a) => !a.includes(account.password))), "no argument carries the password");
    assert(files.has(`${state}/job-account.json`));
    // WinSW reads the XML beside itself; it runs the agent with the unexpanded %ProgramData% folder.
    const svc = parseXml(files.get(`${INSTALL}/labbridge-agent-service.xml`)!).service as Record<string, string>;
    assertEquals(svc.arguments, "run --state-dir %ProgramData%\\LabBridge");
    assertEquals(svc.executable, "%BASE%\\labbridge-agent.exe");
    assertEquals(lines.slice(0, 4), [
      `"${state}" admits SYSTEM and Administrators only`,
      'job account "labbridge-job" ready (S-1-5-21-1-2-3-1001), password rotated',
      `wrote "${state}/job-account.json"`,
      `wrote "${INSTALL}/labbridge-agent-service.xml"`,
    ]);
    assertEquals(lines[4], 'installed service "labbridge-agent"');
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("service install on Windows without elevation runs nothing and says how to elevate", async () => {
  const { seam, rec, tmp } = await seamWith((c) => c.program === "whoami" ? { stdout: "S-1-16-8192" } : undefined);
  const lines: string[] = [];
  assertEquals(await install(seam, lines), 1);
  assertEquals(lines, ["error: service install needs an elevated prompt (Run as administrator)"]);
  assertEquals(rec.calls.map((c) => c.program), ["whoami"]);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("a failing PowerShell step stops the install before WinSW, with PowerShell's own words", async () => {
  const { seam, rec, tmp } = await seamWith((c) => {
    if (c.program === "whoami") return { stdout: "S-1-16-12288" };
    if (c.program === POWERSHELL[0]) return { code: 1, stderr: "New-LocalUser : The password does not meet the password policy requirements." };
  });
  const lines: string[] = [];
  assertEquals(await install(seam, lines), 1);
  assertEquals(
    lines.at(-1),
    'error: Creating the job account "labbridge-job" failed: New-LocalUser : The password does not meet the password policy requirements.',
  );
  assert(!rec.calls.some((c) => c.program === WINSW));
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("WinSW status words of v2 and v3 are read as installed and running", () => {
  assertEquals(parseWinswStatus("Started\r\n"), { installed: true, running: true, detail: "Started" });
  assertEquals(parseWinswStatus("Stopped\r\n"), { installed: true, running: false, detail: "Stopped" });
  assertEquals(parseWinswStatus("NonExistent\r\n"), { installed: false, running: false, detail: "NonExistent" });
  assertEquals(parseWinswStatus("Active (running)\r\n").running, true);
  assertEquals(parseWinswStatus("Inactive (stopped)\r\n"), { installed: true, running: false, detail: "Inactive (stopped)" });
});

Deno.test("uninstall stops a running service, uninstalls it and removes its XML; start and stop map to WinSW", async () => {
  let state = "Started";
  const removed: string[] = [];
  const rec = recordingRunner((c) => c.args[0] === "status" ? { stdout: state } : undefined);
  const { winswHost } = await import("../src/service/winsw_host.ts");
  const { serviceDefinition } = await import("../src/service/service_definition.ts");
  const host = winswHost(serviceDefinition("%BASE%\\labbridge-agent.exe", "%ProgramData%\\LabBridge"), {
    run: rec.run,
    installDir: INSTALL,
    writeTextFile: () => Promise.resolve(),
    removeFile: (p) => Promise.resolve(void removed.push(p)),
  });
  await host.start();
  await host.stop();
  assertEquals(await host.uninstall(), [
    'stopped service "labbridge-agent"',
    'uninstalled service "labbridge-agent"',
    `removed "${INSTALL}/labbridge-agent-service.xml"`,
  ]);
  assertEquals(rec.calls.map((c) => c.args[0]), ["start", "stop", "status", "stop", "uninstall"]);
  assertEquals(removed, [`${INSTALL}/labbridge-agent-service.xml`]);
  state = "NonExistent";
  rec.calls.length = 0;
  await host.uninstall();
  assertEquals(rec.calls.map((c) => c.args[0]), ["status"], "nothing to stop or uninstall");
});

Deno.test("a missing WinSW executable is named, with where it comes from", async () => {
  const rec = recordingRunner(() => ({ code: null }));
  const { winswHost } = await import("../src/service/winsw_host.ts");
  const { serviceDefinition } = await import("../src/service/service_definition.ts");
  const host = winswHost(serviceDefinition("x", "y"), { run: rec.run, installDir: INSTALL, writeTextFile: () => Promise.resolve() });
  const err = await host.start().then(() => null, (e) => (e as Error).message);
  assertEquals(err, `Cannot run "${WINSW}": it is missing (it ships in the agent's zip, next to labbridge-agent.exe)`);
  assertEquals(await host.status(), { installed: false, running: false, detail: `"${WINSW}" is missing` });
});

Deno.test("the state folder check asks PowerShell for SIDs and reports what else the folder admits", async () => {
  const { seam, rec, tmp } = await seamWith((c) =>
    c.program === POWERSHELL[0] ? { stdout: `${STATE_FOLDER_SIDS[0]} Allow False\r\nS-1-5-11 Allow False\r\n` } : undefined
  );
  assertEquals(await seam.stateFolderProblem("C:\\ProgramData\\LabBridge"), '"C:\\ProgramData\\LabBridge" also admits S-1-5-11');
  assert(rec.calls[0]!.stdin!.includes("'C:\\ProgramData\\LabBridge'"));
  assert(rec.calls[0]!.stdin!.includes("SecurityIdentifier"));
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("an access list doctor cannot read (not elevated) is a failure that says to run doctor elevated, not a verdict on the folder", async () => {
  const { stateFolderPermissions } = await import("../src/doctor/state_folder_permissions.ts");
  const { seam, tmp } = await seamWith((c) =>
    c.program === POWERSHELL[0] ? { code: 1, stderr: "Get-Acl : Attempted to perform an unauthorized operation." } : undefined
  );
  try {
    const r = await stateFolderPermissions({ stateDir: "C:\\ProgramData\\LabBridge", seam } as Parameters<typeof stateFolderPermissions>[0]);
    assertEquals(r, {
      name: "state folder permissions",
      status: "fail",
      detail: 'Cannot read the access list of "C:\\ProgramData\\LabBridge": Get-Acl : Attempted to perform an unauthorized operation.',
      fix: "run doctor elevated (root / Run as administrator)",
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

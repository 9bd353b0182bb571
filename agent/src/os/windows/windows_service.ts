// Windows side of the service seam: WinSW, the `labbridge-job` account (ADR 0010) made with
// PowerShell, and the state folder's ACL (SYSTEM and Administrators only). Principals are
// named by SID (S-1-5-18, S-1-5-32-544), never by name: names are localized ("Administratoren").
// Secrets (the job account's password) go to PowerShell on stdin, never on a command line
// that any local process could read. Only a real Windows box runs these for real
// (docs/WINDOWS-CHECKLIST.md, "Service install"); the tests drive them through a recording runner.
import { dirname, join } from "node:path";
import { checked, type CommandRunner } from "../../service/command_runner.ts";
import { DEFAULT_SERVICE_STATE_DIR } from "../../service/service_definition.ts";
import { winswHost } from "../../service/winsw_host.ts";
import type { ServiceSeam } from "../service_seam.ts";
import { JOB_ACCOUNT_FILE } from "./job_account_file.ts";

/** LocalSystem and the local Administrators group: the only principals the state folder admits. */
export const STATE_FOLDER_SIDS = ["S-1-5-18", "S-1-5-32-544"];
/** Mandatory labels of an elevated token (High) and of SYSTEM. */
const ELEVATED_LABELS = ["S-1-16-12288", "S-1-16-16384"];

/** PowerShell, started so that it reads the script from stdin and never prompts. */
export const POWERSHELL = ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", "-"] as const;

/** Whether `whoami /groups` output shows an elevated (or SYSTEM) token. */
export function isElevatedGroups(whoamiGroups: string): boolean {
  return ELEVATED_LABELS.some((sid) => whoamiGroups.includes(sid));
}

/** icacls arguments that leave `dir` to SYSTEM and Administrators only (inherited entries dropped). */
export function stateFolderIcaclsArgs(dir: string): string[] {
  return [dir, "/inheritance:r", "/grant:r", ...STATE_FOLDER_SIDS.map((sid) => `*${sid}:(OI)(CI)F`)];
}

/** A PowerShell single-quoted string literal. */
export function psQuote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Lists the folder's access entries as "<SID> <Allow|Deny> <inherited>" lines (read by aclProblem). */
export function aclListingScript(dir: string): string {
  return [
    "$ErrorActionPreference = 'Stop'",
    `(Get-Acl -LiteralPath ${psQuote(dir)}).Access | ForEach-Object {`,
    "  $sid = $_.IdentityReference.Translate([System.Security.Principal.SecurityIdentifier]).Value",
    '  "$sid $($_.AccessControlType) $($_.IsInherited)"',
    "}",
  ].join("\n");
}

/** Why the listed entries admit more than SYSTEM and Administrators, or null. */
export function aclProblem(dir: string, listing: string): string | null {
  const lines = listing.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length === 0) return `"${dir}" has no access entries`;
  const inherited = lines.filter((l) => / True$/i.test(l));
  if (inherited.length > 0) return `"${dir}" inherits access entries from its parent: any local user may read the credential`;
  const others = lines.filter((l) => / Allow /i.test(l)).map((l) => l.split(" ")[0]!).filter((sid) => !STATE_FOLDER_SIDS.includes(sid));
  if (others.length > 0) return `"${dir}" also admits ${[...new Set(others)].join(", ")}`;
  return null;
}

/**
 * Creates or updates the job account (ADR 0010): local user, password never expires, not an
 * administrator; "log on as a batch job" granted; interactive, remote and network logon
 * denied; hidden from the sign-in screen. The password arrives inside this script on stdin.
 */
export function jobAccountScript(user: string, password: string): string {
  const u = psQuote(user);
  return [
    "$ErrorActionPreference = 'Stop'",
    `$user = ${u}`,
    `$password = ConvertTo-SecureString ${psQuote(password)} -AsPlainText -Force`,
    "$existing = Get-LocalUser -Name $user -ErrorAction SilentlyContinue",
    "if ($existing) { Set-LocalUser -Name $user -Password $password -PasswordNeverExpires $true }",
    "else { New-LocalUser -Name $user -Password $password -PasswordNeverExpires -UserMayNotChangePassword -AccountNeverExpires -Description 'LabBridge jobs' | Out-Null }",
    "$admins = Get-LocalGroupMember -SID 'S-1-5-32-544' | Where-Object { $_.Name -like \"*\\$user\" }",
    'if ($admins) { throw "$user is an administrator: remove it from Administrators first" }',
    "$sid = (Get-LocalUser -Name $user).SID.Value",
    // User rights through secedit: export, add the SID to each right, import just that section.
    "$cfg = Join-Path $env:TEMP ('lb-rights-' + [guid]::NewGuid() + '.inf')",
    "$db = [System.IO.Path]::ChangeExtension($cfg, '.sdb')",
    "secedit /export /cfg $cfg /areas USER_RIGHTS | Out-Null",
    "$lines = [System.Collections.Generic.List[string]]::new([string[]](Get-Content $cfg))",
    "foreach ($right in 'SeBatchLogonRight','SeDenyInteractiveLogonRight','SeDenyRemoteInteractiveLogonRight','SeDenyNetworkLogonRight') {",
    '  $i = $lines.FindIndex([Predicate[string]]{ param($l) $l -like "$right *" })',
    "  if ($i -ge 0) { if ($lines[$i] -notlike \"*$sid*\") { $lines[$i] = $lines[$i] + ',*' + $sid } }",
    "  else { $lines.Insert($lines.IndexOf('[Privilege Rights]') + 1, \"$right = *$sid\") }",
    "}",
    "Set-Content -Path $cfg -Value $lines -Encoding Unicode",
    "secedit /configure /db $db /cfg $cfg /areas USER_RIGHTS | Out-Null",
    'if ($LASTEXITCODE -ne 0) { throw "secedit could not grant the job account\'s logon rights (exit $LASTEXITCODE)" }',
    "Remove-Item $cfg, $db -ErrorAction SilentlyContinue",
    "$hide = 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\SpecialAccounts\\UserList'",
    "New-Item -Path $hide -Force | Out-Null",
    "New-ItemProperty -Path $hide -Name $user -Value 0 -PropertyType DWord -Force | Out-Null",
    "Write-Output $sid",
  ].join("\r\n");
}

/** 32 characters from upper, lower, digits and symbols, one of each at least (Windows' complexity rule). */
export function generatePassword(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  const sets = ["ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-.:=?@_~"];
  const all = sets.join("");
  for (;;) {
    // Rejection sampling keeps every character equally likely.
    const chars: string[] = [];
    while (chars.length < 32) {
      for (const b of random(64)) if (b < 256 - (256 % all.length) && chars.length < 32) chars.push(all[b % all.length]!);
    }
    const pw = chars.join("");
    if (sets.every((s) => [...pw].some((c) => s.includes(c)))) return pw;
  }
}

/** What the Windows seam needs: the runner, the environment (for %ProgramData%) and the install folder. */
export interface WindowsServiceDeps {
  run: CommandRunner;
  env: Record<string, string>;
  /** The folder of labbridge-agent.exe and labbridge-agent-service.exe. */
  installDir: string;
  writeTextFile?: (path: string, text: string) => Promise<void>;
  mkdir?: (path: string) => Promise<void>;
  random?: (n: number) => Uint8Array;
}

/** Expands `%NAME%` from `env` (names without case, as Windows does); unknown names stay. */
export function expandWindowsEnv(text: string, env: Record<string, string>): string {
  const upper = new Map(Object.entries(env).map(([k, v]) => [k.toUpperCase(), v]));
  return text.replace(/%([^%]+)%/g, (whole, name: string) => upper.get(name.toUpperCase()) ?? whole);
}

/** The Windows service seam. */
export function windowsServiceSeam(deps: WindowsServiceDeps): ServiceSeam {
  const write = deps.writeTextFile ?? ((p, t) => Deno.writeTextFile(p, t));
  const mkdir = deps.mkdir ?? ((p) => Deno.mkdir(p, { recursive: true }));
  const powershell = (script: string) => deps.run(POWERSHELL[0], [...POWERSHELL.slice(1)], { stdin: script });
  return {
    platform: "windows",
    async isElevated() {
      const r = await deps.run("whoami", ["/groups"]);
      return r.code === 0 && isElevatedGroups(r.stdout);
    },
    defaultStateDir: () => expandWindowsEnv(DEFAULT_SERVICE_STATE_DIR.windows, deps.env),
    host: (def) => winswHost(def, { run: deps.run, installDir: deps.installDir, writeTextFile: write }),
    async ensureJobAccount(user, stateDir) {
      const password = generatePassword(deps.random);
      const out = checked(`Creating the job account "${user}"`, await powershell(jobAccountScript(user, password)));
      const sid = out.stdout.trim().split(/\r?\n/).pop() ?? "";
      // The folder's ACL (restrictStateFolder, run first) is what keeps this file from jobs and users.
      await write(join(stateDir, JOB_ACCOUNT_FILE), JSON.stringify({ user, domain: ".", password }) + "\n");
      return [`job account "${user}" ready (${sid}), password rotated`, `wrote "${join(stateDir, JOB_ACCOUNT_FILE)}"`];
    },
    async restrictStateFolder(dir) {
      await mkdir(dir);
      checked(`icacls "${dir}"`, await deps.run("icacls", stateFolderIcaclsArgs(dir)));
      return [`"${dir}" admits SYSTEM and Administrators only`];
    },
    async stateFolderProblem(dir) {
      const r = await powershell(aclListingScript(dir));
      // Unreadable is not a verdict on the folder: doctor says to run it elevated.
      if (r.code !== 0) throw new Error(`Cannot read the access list of "${dir}": ${(r.stderr.trim() || `exit code ${r.code}`).split("\n")[0]}`);
      return aclProblem(dir, r.stdout);
    },
  };
}

/** The install folder of a running compiled agent: where its exe (and WinSW beside it) lives. */
export function installDirOf(execPath: string): string {
  return dirname(execPath);
}

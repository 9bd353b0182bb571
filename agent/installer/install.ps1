#Requires -RunAsAdministrator
<#
  Installs the LabBridge agent as a Windows service and enrolls it, in one go:

    powershell -ExecutionPolicy Bypass -File .\install.ps1 -Server wss://gateway.example -Token lbe_...

  Run from the unpacked zip, in an elevated PowerShell. Steps: copy the files to
  $InstallDir; `labbridge-agent service install` (state folder %ProgramData%\LabBridge for
  SYSTEM and Administrators only, the labbridge-job account, the WinSW service); enroll
  (skipped when the folder is already enrolled, so a re-run upgrades the binaries and
  rotates the job account's password); start; the idle reporter registered to start at every
  user's logon; `labbridge-agent doctor`.
  The enrollment token is single-use: once enrolled it is worth nothing.
#>
param(
  [Parameter(Mandatory = $true)][string] $Server,
  [Parameter(Mandatory = $true)][string] $Token,
  [string] $InstallDir = (Join-Path $env:ProgramFiles 'LabBridge'),
  [string] $Name = $env:COMPUTERNAME,
  [string] $Labels = '',
  [string] $WorkDir = ''
)
$ErrorActionPreference = 'Stop'

function Invoke-Step([string] $what, [scriptblock] $step) {
  Write-Host "== $what"
  & $step
  if ($LASTEXITCODE -ne 0) { throw "$what failed (exit code $LASTEXITCODE)" }
}

$here = Split-Path -Parent $MyInvocation.MyCommand.Path
$stateDir = Join-Path $env:ProgramData 'LabBridge'
$agent = Join-Path $InstallDir 'labbridge-agent.exe'
$winsw = Join-Path $InstallDir 'labbridge-agent-service.exe'

New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
# An upgrade: the running service holds the exe open; stop it first (it reports its jobs as agent_stopped).
if (Test-Path $winsw) {
  & $winsw stop | Out-Null
  $global:LASTEXITCODE = 0
}
foreach ($file in 'labbridge-agent.exe', 'labbridge-agent-service.exe', 'labbridge-agent-service.xml') {
  Copy-Item -LiteralPath (Join-Path $here $file) -Destination $InstallDir -Force
}

Invoke-Step 'service install' { & $agent service install }

if (Test-Path (Join-Path $stateDir 'agent.json')) {
  Write-Host "== enroll: skipped, $stateDir is already enrolled (remove agent.json to enroll again)"
} else {
  $enroll = @('enroll', '--server', $Server, '--token', $Token, '--state-dir', $stateDir, '--name', $Name)
  if ($Labels) { $enroll += @('--labels', $Labels) }
  if ($WorkDir) { $enroll += @('--work-dir', $WorkDir) }
  Invoke-Step 'enroll' { & $agent @enroll }
}

Invoke-Step 'service start' { & $agent service start }

# The service runs in session 0 and cannot see the person at the desk: a small reporter in each
# desktop session tells it the session's idle time (decision 0034). One task for every user who
# logs on (principal: the group Users, S-1-5-32-545), so it starts in the user's own session.
Write-Host '== idle reporter at logon'
$action    = New-ScheduledTaskAction -Execute $agent -Argument "idle-reporter --state-dir `"$stateDir`""
$trigger   = New-ScheduledTaskTrigger -AtLogOn
$principal = New-ScheduledTaskPrincipal -GroupId 'S-1-5-32-545' -RunLevel Limited
$settings  = New-ScheduledTaskSettingsSet -ExecutionTimeLimit 0 -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
Register-ScheduledTask -TaskName 'LabBridge idle reporter' -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null

Write-Host '== doctor'
& $agent doctor --state-dir $stateDir
if ($LASTEXITCODE -ne 0) { Write-Warning 'doctor found problems: each FAIL line above says how to fix it' }

// doctor's checks, each made to fail on purpose and to pass, against real sockets (the fake
// gateway over a real WebSocket, a TLS server with a certificate made by openssl), a real
// nvidia-smi stand-in on PATH, real OS accounts and folders.
import type { CheckResult, DoctorContext } from "../src/doctor/check.ts";
import { clockSkew } from "../src/doctor/clock_skew.ts";
import { credentialAccepted } from "../src/doctor/credential_accepted.ts";
import { diskFree } from "../src/doctor/disk_free.ts";
import { doctorCommand, doctorContext } from "../src/doctor/doctor_command.ts";
import { gatewayReachable } from "../src/doctor/gateway_reachable.ts";
import { gatewayHttpUrl } from "../src/doctor/gateway_clock.ts";
import { gpusVisible } from "../src/doctor/gpus_visible.ts";
import { jobAccountUsable } from "../src/doctor/job_account_usable.ts";
import { proxyInUse } from "../src/doctor/proxy_in_use.ts";
import { serviceRunning } from "../src/doctor/service_running.ts";
import { stateFolderPermissions } from "../src/doctor/state_folder_permissions.ts";
import { tlsValid } from "../src/doctor/tls_valid.ts";
import { currentOs } from "../src/os/current.ts";
import { linuxServiceSeam } from "../src/os/linux_service.ts";
import { writeIdentity } from "../src/runtime/agent_state.ts";
import { runCommandLine } from "../src/service/command_runner.ts";
import { ID_PREFIX, newId } from "../../packages/protocol/src/index.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { FakeGateway } from "./helpers/fake_gateway.ts";
import { installFakeNvidiaSmi } from "./helpers/fake_nvidia_smi.ts";
import { recordingRunner } from "./helpers/recording_runner.ts";

const os = currentOs();
const seam = linuxServiceSeam({ run: runCommandLine, systemdRunning: () => false });
const RTX = "0, GPU-5a1b2c3d-0e1f-2a3b-4c5d-6e7f8a9b0c1d, NVIDIA GeForce RTX 4090, 24564, 1843, 3, 45\n";

/** An enrolled state folder for `gw` (or `servers`), and the doctor context for it. */
async function enrolled(servers: string[], gw: FakeGateway | null, extra: Partial<DoctorContext> = {}) {
  const parent = await Deno.makeTempDir({ prefix: "lb-doctor-test-" });
  const stateDir = `${parent}/state`;
  // Without a gateway of its own: an identity no gateway knows.
  const identity = {
    servers,
    agent_id: gw?.agentId ?? newId(ID_PREFIX.agent),
    credential: gw?.credential ?? "lbc_unknown_credential_0123456789",
    name: "doctor-test",
  };
  await writeIdentity(stateDir, identity, os);
  const { ctx } = await doctorContext(stateDir, { os, seam, print: () => {}, limits: { timeoutMs: 3_000, verdictMs: 500 } });
  return { ctx: { ...ctx, ...extra }, parent, dispose: () => Deno.remove(parent, { recursive: true }) };
}

/** A port nothing listens on: bound, then let go. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function one(r: CheckResult | CheckResult[]): CheckResult {
  const list = Array.isArray(r) ? r : [r];
  assertEquals(list.length, 1, JSON.stringify(list));
  return list[0]!;
}

function failed(r: CheckResult | CheckResult[], detail: RegExp): CheckResult {
  const res = one(r);
  assertEquals(res.status, "fail", JSON.stringify(res));
  assert(detail.test(res.detail), `${detail} in "${res.detail}"`);
  assert(res.fix && res.fix.length > 0, "a failure comes with a fix");
  return res;
}

function passed(r: CheckResult | CheckResult[], detail?: RegExp): CheckResult {
  const res = one(r);
  assertEquals(res.status, "ok", JSON.stringify(res));
  if (detail) assert(detail.test(res.detail), `${detail} in "${res.detail}"`);
  return res;
}

Deno.test("doctor: gateway reachable passes for a listening gateway and fails, with a fix, for a closed port", async () => {
  const gw = new FakeGateway();
  const up = await enrolled([gw.url], gw);
  const down = await enrolled([`ws://127.0.0.1:${closedPort()}`], null);
  try {
    passed(await gatewayReachable(up.ctx), /answered in \d+ ms/);
    failed(await gatewayReachable(down.ctx), /refused|Connection/i);
  } finally {
    await Promise.all([up.dispose(), down.dispose(), gw.close()]);
  }
});

/** A TLS server on 127.0.0.1 with a fresh certificate from a fresh test CA (openssl), completing handshakes. */
async function tlsServer() {
  const dir = await Deno.makeTempDir();
  const openssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
    assert(out.success, `openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  };
  await Deno.writeTextFile(`${dir}/leaf.ext`, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  await openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=LabBridge doctor test CA");
  await openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1");
  await openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "1",
    "-extfile",
    "leaf.ext",
  );
  const ca = await Deno.readTextFile(`${dir}/ca.pem`);
  const cert = await Deno.readTextFile(`${dir}/cert.pem`);
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key: await Deno.readTextFile(`${dir}/key.pem`) });
  const serving = (async () => {
    for await (const conn of listener) conn.handshake().catch(() => {}).finally(() => conn.close());
  })().catch(() => {});
  return {
    url: `wss://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    ca,
    async close() {
      listener.close();
      await serving;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("doctor: TLS valid fails for a certificate this machine does not trust, and passes once its CA is trusted", async () => {
  const tls = await tlsServer();
  const st = await enrolled([tls.url], null);
  try {
    failed(await tlsValid(st.ctx), /certificate|UnknownIssuer/i);
    passed(await tlsValid({ ...st.ctx, caCerts: [tls.ca] }), /trusts/);
  } finally {
    await st.dispose();
    await tls.close();
  }
});

Deno.test("doctor: TLS valid says ws:// on this machine needs none, and warns about ws:// to another host", async () => {
  const st = await enrolled(["ws://127.0.0.1:1", "ws://gateway.example:80"], null);
  try {
    const [local, remote] = (await tlsValid(st.ctx)) as CheckResult[];
    assertEquals(local!.status, "ok");
    assertEquals(remote!.status, "warn");
    assert(remote!.detail.includes("clear text"));
  } finally {
    await st.dispose();
  }
});

Deno.test("doctor: credential accepted passes for the enrolled credential and fails for an unknown or revoked one, or a refused upgrade", async () => {
  const gw = new FakeGateway();
  gw.refuseCredentialAtOpenWith = 4401;
  const good = await enrolled([gw.url], gw);
  const bad = await enrolled([gw.url], null);
  try {
    passed(await credentialAccepted(good.ctx), new RegExp(`took the credential of agent ${gw.agentId}`));
    assertEquals(gw.frames.length, 0, "the probe sends no hello");
    failed(await credentialAccepted(bad.ctx), /does not know this credential \(close 4401\)/);
    gw.refuseCredentialAtOpenWith = 4403;
    failed(await credentialAccepted(bad.ctx), /revoked \(close 4403\)/);
    gw.refuseUpgradeWith = 401;
    failed(await credentialAccepted(good.ctx), /refused the credential \(HTTP 401\)/);
  } finally {
    await Promise.all([good.dispose(), bad.dispose()]);
    await gw.close();
  }
});

Deno.test("doctor: credential accepted fails for a folder that is not enrolled", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { ctx } = await doctorContext(dir, { os, seam, print: () => {} });
    failed(await credentialAccepted(ctx), /is not enrolled/);
    failed(await gatewayReachable(ctx), /not enrolled/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("doctor: proxy in use says none, names a proxy that answers, and fails for one that does not", async () => {
  const st = await enrolled(["wss://gw.lab.example.edu"], null);
  const proxy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const c of proxy) c.close();
  })().catch(() => {});
  try {
    passed(await proxyInUse({ ...st.ctx, env: {} }), /^none/);
    const port = (proxy.addr as Deno.NetAddr).port;
    passed(await proxyInUse({ ...st.ctx, env: { https_proxy: `http://user:secret@127.0.0.1:${port}` } }), new RegExp(`^http://\\*\\*\\*@127.0.0.1:${port} answers$`));
    passed(
      await proxyInUse({ ...st.ctx, env: { https_proxy: `http://user:secret@127.0.0.1:${port}`, NO_PROXY: ".example.edu" } }),
      /^none: .*; NO_PROXY exempts gw\.lab\.example\.edu$/,
    );
    const res = failed(await proxyInUse({ ...st.ctx, env: { HTTPS_PROXY: `http://user:secret@127.0.0.1:${closedPort()}` } }), /^http:\/\/\*\*\*@127\.0\.0\.1:/);
    assert(!res.detail.includes("secret"));
  } finally {
    proxy.close();
    await accepting;
    await st.dispose();
  }
});

Deno.test("doctor: GPUs visible fails with no GPU from this context and lists them when nvidia-smi shows one", async () => {
  const smi = await installFakeNvidiaSmi("", "");
  const st = await enrolled(["ws://127.0.0.1:1"], null);
  try {
    failed(await gpusVisible(st.ctx), /^no GPU, as uid 0/);
    await smi.setGpus(RTX);
    passed(await gpusVisible(st.ctx), /^0: NVIDIA GeForce RTX 4090, as uid 0/);
  } finally {
    await smi.dispose();
    await st.dispose();
  }
});

Deno.test("doctor: job account fails when the account is missing, and passes when it starts as jobs do and sees the GPU", async () => {
  assert(Deno.uid() === 0, "run as root: the test creates an OS account");
  const name = `lbd${crypto.randomUUID().slice(0, 8)}`;
  const smi = await installFakeNvidiaSmi(RTX, "");
  const st = await enrolled(["ws://127.0.0.1:1"], null);
  try {
    failed(await jobAccountUsable({ ...st.ctx, jobUser: name }), new RegExp(`"${name}" does not exist: jobs would run as "nobody"`));
    await seam.ensureJobAccount(name, st.ctx.stateDir);
    passed(await jobAccountUsable({ ...st.ctx, jobUser: name, env: Deno.env.toObject() }), new RegExp(`"${name}" starts as jobs do and sees 1 GPU`));
    // The GPU stand-in made unreadable to the account: the agent sees the GPU, the job account does not.
    await Deno.chmod(`${smi.dir}/nvidia-smi`, 0o700);
    failed(await jobAccountUsable({ ...st.ctx, jobUser: name, env: Deno.env.toObject() }), new RegExp(`cannot start a program as "${name}"`));
  } finally {
    await new Deno.Command("userdel", { args: [name], stdout: "null", stderr: "null" }).output();
    await smi.dispose();
    await st.dispose();
  }
});

Deno.test("doctor: free disk fails under the limit, with a fix, and passes above it", async () => {
  const st = await enrolled(["ws://127.0.0.1:1"], null);
  try {
    // The work folder does not exist before the first run: its nearest parent is measured.
    failed(await diskFree({ ...st.ctx, minFreeDiskBytes: 2 ** 60 }), /GiB free in .* under/);
    passed(await diskFree({ ...st.ctx, minFreeDiskBytes: 1 }), new RegExp(`GiB free in "${st.parent}"`));
  } finally {
    await st.dispose();
  }
});

Deno.test("doctor: clock skew passes for a synced clock and fails for one ten minutes ahead of the gateway's", async () => {
  const gw = new FakeGateway();
  const st = await enrolled([gw.url], gw);
  try {
    assertEquals(gatewayHttpUrl("wss://gw.example/base/"), "https://gw.example/base/v1/agent");
    passed(await clockSkew(st.ctx), /s (behind|ahead of) ws:\/\/127\.0\.0\.1/);
    failed(await clockSkew({ ...st.ctx, now: () => Date.now() + 10 * 60_000 }), /this clock is (59\d|60\d)\.\d s ahead of/);
  } finally {
    await st.dispose();
    await gw.close();
  }
});

Deno.test("doctor: state folder permissions fail for a folder others can enter and pass for root's 0700", async () => {
  const st = await enrolled(["ws://127.0.0.1:1"], null);
  try {
    await Deno.chmod(st.ctx.stateDir, 0o755);
    failed(await stateFolderPermissions(st.ctx), /mode 0755/);
    await seam.restrictStateFolder(st.ctx.stateDir);
    passed(await stateFolderPermissions(st.ctx), /admits root only/);
  } finally {
    await st.dispose();
  }
});

Deno.test("doctor: service fails when not installed or not running, and passes when systemd says active", async () => {
  const st = await enrolled(["ws://127.0.0.1:1"], null);
  const units = `${st.parent}/units`;
  let active = "inactive";
  const rec = recordingRunner((c) => c.args[0] === "is-active" ? { code: active === "active" ? 0 : 3, stdout: `${active}\n` } : undefined);
  const withSystemd = linuxServiceSeam({ run: rec.run, unitDir: units, systemdRunning: () => true });
  try {
    failed(await serviceRunning(st.ctx), /not installed \(systemd is not running on this machine\)/);
    failed(await serviceRunning({ ...st.ctx, seam: withSystemd }), /not installed/);
    await withSystemd.host({ id: "labbridge-agent", displayName: "x", description: "x", executable: "/x", stateDir: st.ctx.stateDir, stopTimeoutSec: 30 })
      .install();
    failed(await serviceRunning({ ...st.ctx, seam: withSystemd }), /installed, not running \(inactive\)/);
    active = "active";
    passed(await serviceRunning({ ...st.ctx, seam: withSystemd }), /systemd says active/);
  } finally {
    await st.dispose();
  }
});

Deno.test("doctor prints one line per check, each failure with its fix, and exits 1 when any failed", async () => {
  const gw = new FakeGateway();
  const smi = await installFakeNvidiaSmi(RTX, "");
  const st = await enrolled([gw.url], gw);
  const lines: string[] = [];
  try {
    const code = await doctorCommand(st.ctx.stateDir, {
      os,
      seam,
      print: (l) => lines.push(l),
      limits: { timeoutMs: 3_000, verdictMs: 300, minFreeDiskBytes: 1 },
    });
    assertEquals(code, 1, lines.join("\n"));
    const names = lines.slice(0, -1).map((l) => /^(?:ok  |warn|FAIL|skip) ([^:]+):/.exec(l)?.[1]);
    assertEquals(names, [
      "gateway reachable",
      "proxy in use",
      "TLS valid",
      "credential accepted",
      "clock skew",
      "GPUs visible",
      "job account",
      "free disk",
      "state folder permissions",
      "service",
    ]);
    for (const l of lines.filter((l) => l.startsWith("FAIL"))) assert(l.includes(" — fix: "), l);
    assert(lines.find((l) => l.startsWith("FAIL service:")), "no service here");
    assertEquals(lines.at(-1), `doctor: ${lines.filter((l) => l.startsWith("FAIL")).length} of 10 checks failed for "${st.ctx.stateDir}"`);
  } finally {
    await st.dispose();
    await smi.dispose();
    await gw.close();
  }
});

Deno.test("doctor: on Windows the job account check starts nvidia-smi as the logon account through the seam, in a Job Object named for a doctor attempt", async () => {
  const { GPU_QUERY } = await import("../src/doctor/job_account_usable.ts");
  const { jobObjectName } = await import("../src/os/windows/job_object.ts");
  const specs: import("../src/os/os_seam.ts").DirectJobSpec[] = [];
  const leftovers: number[] = [];
  const windowsLike = {
    ...os,
    platformName: () => "windows",
    resolveJobAccount: () =>
      Promise.resolve({
        account: { kind: "logon" as const, name: "labbridge-job", accountFile: "C:\\ProgramData\\LabBridge\\job-account.json" },
        warnings: [],
      }),
    readGpus: () => Promise.resolve({ gpus: [{ index: 0, uuid: "GPU-1", name: "NVIDIA GeForce RTX 4090", memory_mb: 24564 }], apps: [] }),
    spawnAsAccount: async (spec: import("../src/os/os_seam.ts").DirectJobSpec) => {
      specs.push(spec);
      await Deno.writeTextFile(spec.stdoutPath, "0, NVIDIA GeForce RTX 4090\r\n");
      return { pid: 4242, status: Promise.resolve({ success: true, code: 0, signal: null }) };
    },
    killLeftovers: (pid: number) => Promise.resolve(void leftovers.push(pid)),
  };
  const st = await enrolled(["ws://127.0.0.1:1"], null);
  try {
    const env = { Path: "C:\\Windows\\System32", SystemRoot: "C:\\Windows", USERPROFILE: "C:\\Users\\admin", TOKEN_SECRET: "x" };
    passed(await jobAccountUsable({ ...st.ctx, os: windowsLike, jobUser: "labbridge-job", env }), /"labbridge-job" starts as jobs do and sees 1 GPU/);
    assertEquals(specs.length, 1);
    assertEquals(specs[0]!.argv, GPU_QUERY);
    assertEquals(specs[0]!.env, { Path: "C:\\Windows\\System32", SystemRoot: "C:\\Windows" }, "only what the loader and PATH lookup need");
    jobObjectName(specs[0]!.attemptId); // throws for a name Windows would not take
    assertEquals(leftovers, [4242], "the job object is ended and closed");
    assertEquals(await Deno.stat(specs[0]!.cwd).then(() => true, () => false), false, "the probe's folder is removed");
  } finally {
    await st.dispose();
  }
});

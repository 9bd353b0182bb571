// Picking the job account from /etc/passwd and /etc/group text, and the per-attempt gid.
import { ATTEMPT_GID_BASE, attemptGid, runAsFor } from "../src/attempt/attempt_account.ts";
import { JobAccountError, parseGroup, parsePasswd, pickJobAccount, supplementaryGroups } from "../src/os/posix_accounts.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/bash",
  "toor:x:0:0:second root:/root:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
  "labbridge-job:x:997:996::/var/lib/labbridge-job:/usr/sbin/nologin",
  "broken line",
  "+nisuser::::::",
].join("\n");

const GROUP = ["root:x:0:labbridge-job", "video:x:44:", "render:x:109:alice", "datasets:x:2000:alice,labbridge-job", "labbridge-job:x:996:"].join("\n");

Deno.test("the named job account is used; malformed and NIS lines are skipped", () => {
  assertEquals(parsePasswd(PASSWD).map((a) => a.name), ["root", "toor", "nobody", "labbridge-job"]);
  assertEquals(pickJobAccount(PASSWD, "labbridge-job"), {
    account: { name: "labbridge-job", uid: 997, gid: 996, home: "/var/lib/labbridge-job" },
    warning: null,
  });
});

Deno.test("a missing job account falls back to nobody, with a warning", () => {
  const { account, warning } = pickJobAccount(PASSWD, "lab-jobs");
  assertEquals(account.name, "nobody");
  assert(warning?.includes('job account "lab-jobs" does not exist; jobs run as "nobody"'), warning ?? "no warning");
  assertThrows(() => pickJobAccount("root:x:0:0::/root:/bin/sh\n", "lab-jobs"), JobAccountError, 'neither does "nobody"');
});

Deno.test("an account with uid 0 is refused whatever its name", () => {
  assertThrows(() => pickJobAccount(PASSWD, "root"), JobAccountError, "jobs never run as root");
  assertThrows(() => pickJobAccount(PASSWD, "toor"), JobAccountError, "jobs never run as root");
  assertThrows(() => pickJobAccount("nobody:x:0:0::/:/bin/sh\n", "missing"), JobAccountError, "jobs never run as root");
});

Deno.test("supplementary groups: own primary group, groups listing the account, GPU groups; never group 0", () => {
  const account = pickJobAccount(PASSWD, "labbridge-job").account;
  assertEquals(supplementaryGroups(parseGroup(GROUP), account).sort((a, b) => a - b), [44, 109, 996, 2000]);
});

Deno.test("each live attempt gets a gid of its own, above every real group", () => {
  const taken = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const gid = attemptGid(`att_${i}`, taken);
    assert(gid >= ATTEMPT_GID_BASE && gid < 0x8000_0000, String(gid));
    assert(!taken.has(gid));
    taken.add(gid);
  }
  // A collision with a live attempt moves on instead of sharing.
  const first = attemptGid("att_x", new Set());
  assertEquals(attemptGid("att_x", new Set([first])), first + 1);
  assertEquals(runAsFor({ kind: "agent", reason: "not root" }, "att_x", new Set()), null);
  assertEquals(runAsFor({ kind: "separate", name: "j", uid: 997, gid: 996, groups: [996, 44] }, "att_x", new Set()), {
    name: "j",
    uid: 997,
    gid: first,
    groups: [996, 44],
  });
});

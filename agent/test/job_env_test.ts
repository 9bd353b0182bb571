// The job environment allow-list (job_env.ts), as pure functions: what is taken from the
// agent's environment, what the agent sets, and Windows' case-insensitive names.
import { attemptEnv, inheritedEnv, isAllowListed, missingPassEnv } from "../src/attempt/job_env.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const AGENT_ENV = {
  PATH: "/usr/bin:/bin",
  LANG: "en_US.UTF-8",
  LC_CTYPE: "en_US.UTF-8",
  CUDA_HOME: "/usr/local/cuda",
  NVIDIA_VISIBLE_DEVICES: "all",
  LB_ADMIN_TOKEN: "lbt_secret",
  SSH_AUTH_SOCK: "/tmp/ssh-x/agent.1",
  HF_TOKEN: "hf_secret",
  HOME: "/root",
};

Deno.test("only allow-listed names and --pass-env names are inherited from the agent", () => {
  assertEquals(inheritedEnv(AGENT_ENV, ["HF_TOKEN"], "posix"), {
    PATH: "/usr/bin:/bin",
    LANG: "en_US.UTF-8",
    LC_CTYPE: "en_US.UTF-8",
    CUDA_HOME: "/usr/local/cuda",
    NVIDIA_VISIBLE_DEVICES: "all",
    HF_TOKEN: "hf_secret",
  });
  assertEquals(inheritedEnv(AGENT_ENV, [], "posix").HF_TOKEN, undefined);
});

Deno.test("names are case-sensitive on Linux and case-insensitive on Windows", () => {
  assert(!isAllowListed("Path", "posix"));
  assert(isAllowListed("Path", "windows"));
  assert(isAllowListed("SystemRoot", "windows") && !isAllowListed("SystemRoot", "posix"));
  assert(isAllowListed("cuda_path_v12_4", "windows"));
  const win = { Path: "C:\\Windows", SystemRoot: "C:\\Windows", ComSpec: "C:\\Windows\\system32\\cmd.exe", hf_home: "D:\\hf", USERNAME: "SYSTEM" };
  assertEquals(inheritedEnv(win, ["HF_HOME"], "windows"), {
    Path: "C:\\Windows",
    SystemRoot: "C:\\Windows",
    ComSpec: "C:\\Windows\\system32\\cmd.exe",
    hf_home: "D:\\hf",
  });
  assertEquals(missingPassEnv(win, ["HF_HOME", "WANDB_DIR"], "windows"), ["WANDB_DIR"]);
  assertEquals(missingPassEnv(win, ["HF_HOME"], "posix"), ["HF_HOME"], "on Linux hf_home is another variable");
});

Deno.test("the attempt's env: home and temp inside its folder, job env over inherited, LB_* over everything", () => {
  const lb = { LB_JOB_ID: "job_1", LB_ATTEMPT_ID: "att_1", LB_INPUT_DIR: "/w/a/inputs", LB_OUTPUT_DIR: "/w/a/outputs" };
  const env = attemptEnv({
    flavor: "posix",
    inherited: { PATH: "/usr/bin", HOME: "/root" },
    home: "/w/a/home",
    tmp: "/w/a/tmp",
    user: "labbridge-job",
    job: { PATH: "/opt/conda/bin:/usr/bin", WANDB_MODE: "offline" },
    lb,
  });
  assertEquals(env, {
    PATH: "/opt/conda/bin:/usr/bin",
    HOME: "/w/a/home",
    TMPDIR: "/w/a/tmp",
    TMP: "/w/a/tmp",
    TEMP: "/w/a/tmp",
    USER: "labbridge-job",
    LOGNAME: "labbridge-job",
    WANDB_MODE: "offline",
    ...lb,
  });
  // On Windows a job's `path` replaces the inherited `Path` instead of standing beside it,
  // and a lower-case lb_ name cannot shadow the agent's LB_ value.
  const win = attemptEnv({
    flavor: "windows",
    inherited: { Path: "C:\\Windows" },
    home: "D:\\w\\a\\home",
    tmp: "D:\\w\\a\\tmp",
    user: null,
    job: { path: "C:\\Python312", lb_output_dir: "C:\\evil" },
    lb,
  });
  assertEquals(Object.keys(win).filter((k) => k.toUpperCase() === "PATH"), ["path"]);
  assertEquals(Object.keys(win).filter((k) => k.toUpperCase() === "LB_OUTPUT_DIR"), ["LB_OUTPUT_DIR"]);
  assertEquals(win.LB_OUTPUT_DIR, "/w/a/outputs");
  assertEquals(win.USERPROFILE, "D:\\w\\a\\home");
  assertEquals(win.TEMP, "D:\\w\\a\\tmp");
});

import { describe, expect, it } from "vitest";
import { checkJobSpec, DEFAULT_TIMEOUT_SECONDS, MAX_JOB_SPEC_BYTES, MAX_TIMEOUT_SECONDS, type Problem } from "@labbridge/protocol";

/** The problems of a refused spec; fails the test when the spec was accepted. */
function problemsOf(body: unknown): Problem[] {
  const checked = checkJobSpec(body);
  if (checked.ok) throw new Error(`expected ${JSON.stringify(body)} to be refused`);
  return checked.problems;
}

function fields(body: unknown): string[] {
  return problemsOf(body).map((p) => p.field);
}

describe("checkJobSpec", () => {
  it("fills in every default for a submission that gives only a command", () => {
    const checked = checkJobSpec({ command: ["python", "train.py"] });
    expect(checked).toEqual({
      ok: true,
      value: {
        name: null,
        command: ["python", "train.py"],
        env: {},
        inputs: [],
        requirements: {},
        timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
        max_attempts: 1,
        priority: 0,
      },
    });
  });

  it("keeps every field of a full submission", () => {
    const body = {
      name: "resnet50-finetune",
      command: ["python", "train.py", "--epochs", "3"],
      env: { WANDB_MODE: "offline" },
      inputs: [{ key: "inputs/upl_1/data.zip", path: "data/data.zip" }],
      requirements: { os: "windows", labels: { gpu: "rtx4090" }, gpus: 2, gpu_memory_mb: 20_000, gpu_name: "4090" },
      timeout_seconds: 600,
      max_attempts: 3,
      priority: -4,
    };
    const checked = checkJobSpec(body);
    expect(checked.ok).toBe(true);
    if (checked.ok) expect(checked.value).toEqual(body);
  });

  it("refuses a body that is not a JSON object", () => {
    for (const body of [null, [], "python", 3]) expect(fields(body)).toEqual([""]);
  });

  it("refuses a missing or empty command", () => {
    expect(fields({})).toEqual(["command"]);
    expect(fields({ command: [] })).toEqual(["command"]);
    expect(fields({ command: "python train.py" })).toEqual(["command"]);
  });

  it("refuses a command with a non-string argument or an empty program", () => {
    expect(fields({ command: ["python", 3] })).toEqual(["command"]);
    expect(fields({ command: ["", "train.py"] })).toEqual(["command[0]"]);
  });

  it("refuses LB_ variables in env because the agent sets them", () => {
    const problems = problemsOf({ command: ["x"], env: { LB_JOB_ID: "forged", OK_NAME: "1" } });
    expect(problems).toEqual([{ field: "env.LB_JOB_ID", reason: "LB_ variables are set by the agent" }]);
  });

  it("refuses env names that are not variable names and env values that are not strings", () => {
    expect(fields({ command: ["x"], env: { "1BAD": "v" } })).toEqual(["env.1BAD"]);
    expect(fields({ command: ["x"], env: { "A=B": "v" } })).toEqual(["env.A=B"]);
    expect(fields({ command: ["x"], env: { A: 1 } })).toEqual(["env"]);
  });

  it("refuses env names that are LB_ names in any case, since Windows reads names without case", () => {
    const problems = problemsOf({ command: ["x"], env: { lb_output_dir: "C:/x", Lb_Job_Id: "forged", LBX: "ok" } });
    expect(problems).toEqual([
      { field: "env.lb_output_dir", reason: "LB_ variables are set by the agent" },
      { field: "env.Lb_Job_Id", reason: "LB_ variables are set by the agent" },
    ]);
  });

  it("refuses a NUL character in an argument, an env name or an env value", () => {
    expect(problemsOf({ command: ["python", "a\u0000b"] })).toEqual([{ field: "command[1]", reason: "contains a NUL character" }]);
    expect(fields({ command: ["py\u0000thon"] })).toEqual(["command[0]"]);
    expect(problemsOf({ command: ["x"], env: { A: "1\u00002" } })).toEqual([{ field: "env.A", reason: "value contains a NUL character" }]);
    expect(fields({ command: ["x"], env: { "A\u0000B": "1" } })).toEqual(["env.A\u0000B"]);
  });

  it("refuses input paths that Windows would turn into a device, a stream or another name", () => {
    const bad = ["CON", "nul.txt", "data/NUL", "data/aux.tar.gz", "com1", "LPT9.log", "a/prn/b", "conin$", "data.", "data ", "dir./x", "a:b", "data.bin:stream", "a?b", 'a"b'];
    for (const path of bad) {
      const problems = problemsOf({ command: ["x"], inputs: [{ key: "inputs/upl_1/a", path }] });
      expect(problems.map((p) => p.field), path).toEqual(["inputs[0].path"]);
    }
    const ok = ["console.txt", "data/nul_values.csv", "com10", "auxiliary/x", "a.b.c", ".hidden"];
    for (const path of ok) expect(checkJobSpec({ command: ["x"], inputs: [{ key: "inputs/upl_1/a", path }] }).ok, path).toBe(true);
  });

  it("refuses input paths that could leave the input folder", () => {
    const bad = ["../secret", "a/../../b", "/etc/passwd", "C:/Windows/x", "c:x", "a\\b", ""];
    for (const path of bad) {
      const problems = problemsOf({ command: ["x"], inputs: [{ key: "inputs/upl_1/a", path }] });
      expect(problems.map((p) => p.field), path).toEqual(["inputs[0].path"]);
    }
  });

  it("refuses input keys with a .. segment or an absolute key", () => {
    expect(fields({ command: ["x"], inputs: [{ key: "inputs/../jobs/x", path: "a" }] })).toEqual(["inputs[0].key"]);
    expect(fields({ command: ["x"], inputs: [{ key: "/inputs/x", path: "a" }] })).toEqual(["inputs[0].key"]);
  });

  it("refuses two inputs landing on the same path", () => {
    const problems = problemsOf({
      command: ["x"],
      inputs: [{ key: "inputs/u1/a", path: "a.bin" }, { key: "inputs/u2/a", path: "a.bin" }],
    });
    expect(problems).toEqual([{ field: "inputs[1].path", reason: "is used twice" }]);
  });

  it("refuses more than 64 inputs and inputs that are not objects", () => {
    const inputs = Array.from({ length: 65 }, (_, i) => ({ key: `inputs/u/${i}`, path: `${i}` }));
    expect(fields({ command: ["x"], inputs })).toEqual(["inputs"]);
    expect(fields({ command: ["x"], inputs: ["inputs/u/a"] })).toEqual(["inputs[0]"]);
  });

  it("accepts an os in any case and stores it lowercase, darwin as macos", () => {
    const osOf = (os: string) => {
      const checked = checkJobSpec({ command: ["x"], requirements: { os } });
      if (!checked.ok) throw new Error(`"${os}" refused: ${JSON.stringify(checked.problems)}`);
      return checked.value.requirements.os;
    };
    expect(osOf("Linux")).toBe("linux");
    expect(osOf("WINDOWS")).toBe("windows");
    expect(osOf("macOS")).toBe("macos");
    expect(osOf("darwin")).toBe("macos");
  });

  it("refuses an os no agent can have, naming the field", () => {
    expect(problemsOf({ command: ["x"], requirements: { os: "plan9" } })).toEqual([
      { field: "requirements.os", reason: 'is "plan9": expected one of windows, linux, macos' },
    ]);
    expect(fields({ command: ["x"], requirements: { os: "" } })).toEqual(["requirements.os"]);
  });

  it("refuses an unknown requirement key such as the typo gpu as an unknown field", () => {
    const problems = problemsOf({ command: ["x"], requirements: { gpu: 1 } });
    expect(problems).toEqual([{ field: "requirements.gpu", reason: expect.stringContaining("is not a known requirement"), code: "unknown_field" }]);
  });

  it("accepts gpus from 0 to 16 and refuses other counts", () => {
    const accepted = checkJobSpec({ command: ["x"], requirements: { gpus: 2 } });
    expect(accepted.ok && accepted.value.requirements).toEqual({ gpus: 2 });
    for (const n of [0, 16]) expect(checkJobSpec({ command: ["x"], requirements: { gpus: n } }).ok, String(n)).toBe(true);
    for (const n of [-1, 17, 1.5, "2"]) expect(fields({ command: ["x"], requirements: { gpus: n } }), String(n)).toEqual(["requirements.gpus"]);
  });

  it("refuses a gpu_memory_mb that is not a positive whole number and a gpu_name that is empty or longer than 128", () => {
    for (const m of [0, -5, 1.5, "24GB"]) expect(fields({ command: ["x"], requirements: { gpus: 1, gpu_memory_mb: m } }), String(m)).toEqual(["requirements.gpu_memory_mb"]);
    for (const n of ["", " ", "n".repeat(129), 4090]) expect(fields({ command: ["x"], requirements: { gpus: 1, gpu_name: n } }), String(n)).toEqual(["requirements.gpu_name"]);
    expect(checkJobSpec({ command: ["x"], requirements: { gpus: 1, gpu_memory_mb: 1, gpu_name: "n".repeat(128) } }).ok).toBe(true);
  });

  it("refuses gpu_memory_mb or gpu_name without gpus of at least 1, since they qualify the GPUs given", () => {
    expect(problemsOf({ command: ["x"], requirements: { gpu_name: "4090" } })).toEqual([{ field: "requirements.gpu_name", reason: "needs requirements.gpus of at least 1" }]);
    expect(fields({ command: ["x"], requirements: { gpus: 0, gpu_memory_mb: 1000 } })).toEqual(["requirements.gpu_memory_mb"]);
  });

  it("takes priority from -10 to 10, 0 by default, and refuses anything else", () => {
    for (const p of [-10, 0, 10]) {
      const checked = checkJobSpec({ command: ["x"], priority: p });
      expect(checked.ok && checked.value.priority, String(p)).toBe(p);
    }
    for (const p of [-11, 11, 0.5, "1"]) expect(fields({ command: ["x"], priority: p }), String(p)).toEqual(["priority"]);
  });

  it("refuses requirements whose os or labels are not strings", () => {
    expect(fields({ command: ["x"], requirements: [] })).toEqual(["requirements"]);
    expect(fields({ command: ["x"], requirements: { os: 7 } })).toEqual(["requirements.os"]);
    expect(fields({ command: ["x"], requirements: { labels: { gpu: 4090 } } })).toEqual(["requirements.labels"]);
  });

  it("refuses a timeout outside 1 second to 30 days or not a whole number", () => {
    for (const t of [0, -1, 1.5, MAX_TIMEOUT_SECONDS + 1, "60"]) expect(fields({ command: ["x"], timeout_seconds: t })).toEqual(["timeout_seconds"]);
    expect(checkJobSpec({ command: ["x"], timeout_seconds: MAX_TIMEOUT_SECONDS }).ok).toBe(true);
  });

  it("refuses max_attempts outside 1 to 10", () => {
    for (const n of [0, 11, 2.5, "2"]) expect(fields({ command: ["x"], max_attempts: n })).toEqual(["max_attempts"]);
    expect(checkJobSpec({ command: ["x"], max_attempts: 10 }).ok).toBe(true);
  });

  it("refuses a name longer than 200 characters", () => {
    expect(fields({ command: ["x"], name: "n".repeat(201) })).toEqual(["name"]);
    expect(checkJobSpec({ command: ["x"], name: "n".repeat(200) }).ok).toBe(true);
  });

  it("reports every problem of a request at once", () => {
    expect(fields({ command: [], env: { LB_X: "1" }, max_attempts: 0 })).toEqual(["command", "env.LB_X", "max_attempts"]);
  });

  it("refuses a spec larger than 8 KiB so job messages stay small", () => {
    const problems = problemsOf({ command: ["python", "x".repeat(MAX_JOB_SPEC_BYTES)] });
    expect(problems).toEqual([{ field: "", reason: `job spec is larger than ${MAX_JOB_SPEC_BYTES} bytes` }]);
    expect(checkJobSpec({ command: ["python", "x".repeat(MAX_JOB_SPEC_BYTES - 300)] }).ok).toBe(true);
  });

  it("counts the spec size in UTF-8 bytes, not characters", () => {
    // 3000 characters of 3 bytes each are 9000 bytes: over the limit, though under 8192 characters.
    expect(fields({ command: ["echo", "€".repeat(3000)] })).toEqual([""]);
  });

  it("refuses a field it does not know, at the top and in inputs, as unknown_field naming it", () => {
    const checked = checkJobSpec({ command: ["x"], timout_seconds: 5, owner: "someone-else", inputs: [{ key: "inputs/u/a", path: "a", size: 1, sha256: "f".repeat(64) }] });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.problems.filter((p) => p.code === "unknown_field").map((p) => p.field)).toEqual(["timout_seconds", "owner", "inputs[0].size", "inputs[0].sha256"]);
  });
});

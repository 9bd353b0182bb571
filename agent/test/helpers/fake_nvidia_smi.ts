// A fake `nvidia-smi`: a real shell script first on PATH that answers the agent's two queries
// from files the test writes (gpus.txt, apps.txt) and records each call's arguments, so the
// agent runs a real process through its real lookup, as it would on a lab box.
export interface FakeNvidiaSmi {
  dir: string;
  setGpus(text: string): Promise<void>;
  setApps(text: string): Promise<void>;
  /** The argument lines of every call so far. */
  calls(): Promise<string[]>;
  /** Puts the old PATH back and removes the folder. */
  dispose(): Promise<void>;
}

const SCRIPT = `#!/bin/sh
here=$(dirname "$0")
echo "$*" >> "$here/calls.log"
case "$1" in
  --query-gpu=*) cat "$here/gpus.txt" ;;
  --query-compute-apps=*) cat "$here/apps.txt" ;;
  *) echo "unexpected arguments: $*" >&2; exit 9 ;;
esac
`;

/** Installs the fake first on this process's PATH (children the agent spawns inherit it). */
export async function installFakeNvidiaSmi(gpus = "", apps = ""): Promise<FakeNvidiaSmi> {
  const dir = await Deno.makeTempDir({ prefix: "lb-fake-smi-" });
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/nvidia-smi`, SCRIPT);
  await Deno.chmod(`${dir}/nvidia-smi`, 0o755);
  // Written to a new name then renamed, so a reading never sees a half-written file.
  const put = async (name: string, text: string) => {
    await Deno.writeTextFile(`${dir}/${name}.tmp`, text);
    await Deno.rename(`${dir}/${name}.tmp`, `${dir}/${name}`);
  };
  await put("gpus.txt", gpus);
  await put("apps.txt", apps);
  const oldPath = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", `${dir}:${oldPath}`);
  return {
    dir,
    setGpus: (text) => put("gpus.txt", text),
    setApps: (text) => put("apps.txt", text),
    calls: async () => (await Deno.readTextFile(`${dir}/calls.log`).catch(() => "")).split("\n").filter(Boolean),
    async dispose() {
      Deno.env.set("PATH", oldPath);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

// Submit a job: the command (one argument per line, so no quoting rules to learn), inputs
// picked from local files and uploaded straight to the store, requirements. One
// Idempotency-Key per form, so a second click or a retry never makes a second job.
import { JOB_OS } from "@labbridge/protocol";
import { useState } from "preact/hooks";
import { api, ApiFailure, asFailure } from "../api/client.ts";
import type { JobView } from "@labbridge/protocol";
import { uploadFile, type UploadProgress } from "../api/upload.ts";
import { ErrorBox } from "../components/error_box.tsx";
import { Meter } from "../components/meter.tsx";
import { bytes } from "@labbridge/format";
import { go, href } from "../router.ts";

function pairs(text: string, sep: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(sep).map((s) => s.trim()).filter(Boolean)) {
    const i = item.indexOf("=");
    if (i > 0) out[item.slice(0, i).trim()] = item.slice(i + 1);
    else out[item] = "";
  }
  return out;
}

const lines = (text: string) => text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l.trim() !== "");

/** The submit page. */
export function SubmitPage() {
  const [form, setForm] = useState({ name: "", command: "", env: "", os: "", gpus: "", gpuMemory: "", gpuName: "", labels: "", timeout: "", maxAttempts: "", priority: "" });
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState<Record<string, UploadProgress>>({});
  const [error, setError] = useState<ApiFailure | null>(null);
  const [busy, setBusy] = useState(false);
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());
  const field = (name: keyof typeof form) => ({
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  const argv = lines(form.command);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const inputs = [];
      for (const file of files) {
        const key = await uploadFile(file, (p) => setProgress((all) => ({ ...all, [file.name]: p })));
        inputs.push({ key, path: file.name });
      }
      const requirements: Record<string, unknown> = {};
      if (form.os) requirements.os = form.os;
      if (form.gpus) requirements.gpus = Number(form.gpus);
      if (form.gpuMemory) requirements.gpu_memory_mb = Number(form.gpuMemory);
      if (form.gpuName.trim()) requirements.gpu_name = form.gpuName.trim();
      if (form.labels.trim()) requirements.labels = pairs(form.labels, /[,\n]/);
      const spec: Record<string, unknown> = { command: argv, inputs, requirements };
      if (form.name.trim()) spec.name = form.name.trim();
      if (form.env.trim()) spec.env = pairs(form.env, /\n/);
      if (form.timeout) spec.timeout_seconds = Number(form.timeout);
      if (form.maxAttempts) spec.max_attempts = Number(form.maxAttempts);
      if (form.priority) spec.priority = Number(form.priority);
      const job = await api<JobView>("POST", "/v1/jobs", spec, { headers: { "idempotency-key": idempotencyKey } });
      setIdempotencyKey(crypto.randomUUID());
      go(href("jobs", job.id));
    } catch (err) {
      setError(asFailure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Submit a job</h1>
      <form class="submit" onSubmit={submit}>
        <label>Name <input {...field("name")} placeholder="resnet50-finetune" /></label>
        <label>
          Command, one argument per line
          <textarea {...field("command")} rows={4} placeholder={"python\ntrain.py\n--epochs\n3"} required />
        </label>
        <p class="muted">argv: <code>{JSON.stringify(argv)}</code></p>
        <label>
          <span>Input files, put in the job's input folder (<code>$LB_INPUT_DIR</code>)</span>
          <input type="file" name="inputs" multiple onChange={(e) => setFiles([...(e.currentTarget.files ?? [])])} />
        </label>
        {files.map((f) => {
          const p = progress[f.name];
          return (
            <div key={f.name} class="upload" data-file={f.name}>
              <code>{f.name}</code> {bytes(f.size)}{" "}
              {p && <Meter fraction={p.total ? p.done / p.total : 1} label={p.phase === "done" ? "uploaded" : `${p.phase} ${bytes(p.done)}`} />}
            </div>
          );
        })}
        <label>Environment, NAME=value per line <textarea {...field("env")} rows={2} placeholder="WANDB_MODE=offline" /></label>
        <fieldset>
          <legend>Requirements</legend>
          <label>
            OS
            <select {...field("os")}>
              <option value="">any</option>
              {JOB_OS.map((o) => <option key={o} value={o}>{o}</option>)}
            </select>
          </label>
          <label>GPUs <input {...field("gpus")} type="number" min={0} max={16} placeholder="0" /></label>
          <label>Free memory per GPU (MB) <input {...field("gpuMemory")} type="number" min={0} /></label>
          <label>GPU name contains <input {...field("gpuName")} placeholder="4090" /></label>
          <label>Labels, key=value, comma-separated <input {...field("labels")} placeholder="lab=b201" /></label>
        </fieldset>
        <fieldset>
          <legend>Limits</legend>
          <label>Timeout (s) <input {...field("timeout")} type="number" min={1} placeholder="86400" /></label>
          <label>Max attempts <input {...field("maxAttempts")} type="number" min={1} placeholder="1" /></label>
          <label>Priority (-10..10) <input {...field("priority")} type="number" min={-10} max={10} placeholder="0" /></label>
        </fieldset>
        <button type="submit" disabled={busy || argv.length === 0}>{busy ? "Submitting…" : "Submit"}</button>
      </form>
      <ErrorBox error={error} />
    </section>
  );
}

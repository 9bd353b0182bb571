// Following one job live (`lb logs -f`, `lb submit --follow`): the SSE stream of
// GET /v1/jobs/{id}/events, its `log` lines to stdout and stderr as the job wrote them, state
// changes and progress as notes. A dropped stream is reopened until the job has ended.
import { isTerminalJobState, type JobView } from "@labbridge/protocol";
import type { ApiClient } from "./api_client.ts";
import type { Output } from "./output.ts";
import { readEvents } from "./sse.ts";

/** Follows job `id` until it ends, writing what happens; returns the job as it ended. */
export async function followJob(api: ApiClient, id: string, out: Output, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<JobView> {
  const path = `/v1/jobs/${encodeURIComponent(id)}/events`;
  for (let reconnects = 0; ; reconnects++) {
    let last: JobView | null = null;
    try {
      const res = await api.stream(path);
      for await (const ev of readEvents(res.body!)) {
        const data = JSON.parse(ev.data) as Record<string, unknown>;
        if (out.json) process.stdout.write(`${JSON.stringify({ event: ev.event, ...data })}\n`);
        if (ev.event === "job") {
          last = data as unknown as JobView;
          if (!out.json) out.note(`job ${last.id} ${last.state}`);
        } else if (ev.event === "state" && !out.json) {
          out.note(`job ${id} ${String(data.to ?? data.state ?? "")}${data.attempt_id ? ` (attempt ${String(data.attempt_id)})` : ""}`);
        } else if (ev.event === "progress" && !out.json) {
          out.note(`progress: ${String(data.message ?? "")}`);
        } else if (ev.event === "log" && !out.json) {
          const line = `${String(data.line ?? "")}\n`;
          (data.stream === "stderr" ? process.stderr : process.stdout).write(line);
        }
      }
    } catch (err) {
      // A network blip: the job goes on without us, so look again below.
      if (reconnects > 30) throw err;
    }
    const job = (await api.call<JobView>("GET", `/v1/jobs/${encodeURIComponent(id)}`)).body;
    if (isTerminalJobState(job.state)) return job;
    if (last && isTerminalJobState(last.state)) return last;
    await sleep(Math.min(500 * 2 ** Math.min(reconnects, 4), 5000));
  }
}

// How the fault suite decides that a row held: from the agents' side, the ledger every
// job process appends "<job id> <attempt id>" to; from the API's side, every job's final
// state. A job is lost if it never ended, vanished, or claims success without having run;
// it ran twice if its ledger shows an attempt id twice, more runs than max_attempts, or an
// attempt the system does not know.
import { existsSync, readFileSync } from "node:fs";
import type { JobView, Submission } from "./workload.ts";

/** One line of the ledger: a job process that started. */
export interface LedgerLine {
  jobId: string;
  attemptId: string;
}

/** What a job should end as; by default SUCCEEDED after one run. */
export interface Expectation {
  state: string;
  cause?: string;
  runs?: number;
}

/** Submission plus what it should end as. */
export type JudgedSubmission = Submission & { expect?: Expectation };

/** The outcome of a row. */
export interface Verdict {
  jobs: number;
  lost: string[];
  ranTwice: string[];
  wrongState: string[];
  /** Jobs that ended FAILED because their agent was cut or restarted under them (allowed). */
  failedWithAgent: number;
  /** Jobs re-run because max_attempts asked for it. */
  rerunByRequest: number;
  states: Record<string, number>;
}

export function readLedger(path: string): LedgerLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => {
    const [jobId = "", attemptId = ""] = l.trim().split(/\s+/);
    return { jobId, attemptId };
  });
}

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELED"]);

/**
 * Judges one row. `agentFaults` names agents that were cut past their lease or restarted:
 * an attempt in flight there may end FAILED with one of `agentFaultCauses`.
 */
export function judge(
  subs: JudgedSubmission[],
  views: Map<string, JobView | null>,
  ledger: LedgerLine[],
  opts: { agentFaults?: Set<string>; agentFaultCauses?: string[] } = {},
): Verdict {
  const byJob = new Map<string, string[]>();
  for (const l of ledger) byJob.set(l.jobId, [...(byJob.get(l.jobId) ?? []), l.attemptId]);
  const v: Verdict = { jobs: subs.length, lost: [], ranTwice: [], wrongState: [], failedWithAgent: 0, rerunByRequest: 0, states: {} };
  const causes = new Set(opts.agentFaultCauses ?? ["lease_expired", "agent_restarted"]);
  for (const sub of subs) {
    const id = sub.jobId;
    const view = id ? views.get(id) : null;
    if (!id || !view || !TERMINAL.has(view.state)) {
      v.lost.push(`${sub.label} ${id ?? "(not accepted)"}: ${view?.state ?? "missing"}`);
      continue;
    }
    v.states[view.state] = (v.states[view.state] ?? 0) + 1;
    const runs = byJob.get(id) ?? [];
    const known = new Set(view.attempts.map((a) => a.id));
    if (new Set(runs).size !== runs.length || runs.length > view.max_attempts || runs.some((r) => !known.has(r))) {
      v.ranTwice.push(`${sub.label} ${id}: ran ${runs.join(", ")}; attempts ${[...known].join(", ")}`);
      continue;
    }
    if (runs.length > 1) v.rerunByRequest++;
    const last = view.attempts.at(-1);
    const cause = view.history.at(-1)?.cause;
    if (view.state === "SUCCEEDED" && (!last || !runs.includes(last.id))) {
      v.lost.push(`${sub.label} ${id}: SUCCEEDED but attempt ${last?.id} never ran`);
      continue;
    }
    const want = sub.expect ?? { state: "SUCCEEDED" };
    const asExpected = view.state === want.state && (!want.cause || cause === want.cause) && (want.runs === undefined || runs.length === want.runs);
    if (asExpected) continue;
    const agentFault = view.state === "FAILED" && !sub.expect && last !== undefined &&
      (opts.agentFaults?.has(last.agent_id) ?? false) && causes.has(String(cause));
    if (agentFault) v.failedWithAgent++;
    else v.wrongState.push(`${sub.label} ${id}: ${view.state} (${cause}), ${runs.length} run(s); expected ${JSON.stringify(want)}`);
  }
  return v;
}

/** The longest time (s) between consecutive job endings inside [from, to]: how long work stalled. */
export function longestStall(views: Iterable<JobView | null>, from: number, to: number): number {
  const ends = [from, to];
  for (const view of views) {
    const at = view && TERMINAL.has(view.state) ? Date.parse(view.history.at(-1)!.at) : NaN;
    if (at >= from && at <= to) ends.push(at);
  }
  ends.sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < ends.length; i++) gap = Math.max(gap, ends[i]! - ends[i - 1]!);
  return gap / 1000;
}

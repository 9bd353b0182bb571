// Progress of uploads and downloads: cli-progress bars when a person watches a terminal, one
// line per finished piece otherwise (CI logs, tests, pipes), nothing with --json.
import cliProgress from "cli-progress";
import { bytes } from "@labbridge/format";
import type { Output } from "./output.ts";

/** One file's progress. */
export interface Bar {
  /** Counts `n` more bytes moved. */
  add(n: number): void;
  /** A piece (a part) is done: a line when no bars are drawn. */
  step(line: string): void;
  /** The file is done. */
  done(line: string): void;
}

/** Progress of several files at once. */
export interface Progress {
  bar(label: string, total: number): Bar;
  stop(): void;
}

/** Bars on stderr when `out.bars`, plain notes otherwise. */
export function createProgress(out: Output): Progress {
  if (!out.bars) {
    return {
      bar: () => ({ add() {}, step: (line) => out.note(line), done: (line) => out.note(line) }),
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: " {bar} {percentage}% | {label} | {moved}/{size}",
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    bar(label, total) {
      const bar = multi.create(Math.max(total, 1), 0, { label, moved: bytes(0), size: bytes(total) });
      let moved = 0;
      return {
        add(n) {
          moved += n;
          bar.update(Math.min(moved, total), { moved: bytes(moved) });
        },
        step() {},
        done() {
          bar.update(Math.max(total, 1), { moved: bytes(total) });
        },
      };
    },
    stop: () => multi.stop(),
  };
}

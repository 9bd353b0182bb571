// Remembers the last complete line a job printed, for attempt.progress. A carriage return
// ends a line too: progress bars (tqdm, pip) redraw with "\r" and their latest state is
// exactly what someone watching a job wants to see.

const MAX_PARTIAL = 8 * 1024;

export class LineTracker {
  private readonly decoder = new TextDecoder();
  private partial = "";
  private last: string | null = null;
  private seq = 0;

  /** Feeds raw bytes from the job's stdout. */
  push(chunk: Uint8Array): void {
    const text = this.partial + this.decoder.decode(chunk, { stream: true });
    const parts = text.split(/\r\n|\r|\n/);
    // The last part has no line end yet; keep only its tail so a job printing one endless line cannot grow memory.
    this.partial = parts.pop()!.slice(-MAX_PARTIAL);
    for (let i = parts.length - 1; i >= 0; i--) {
      const line = parts[i]!.trimEnd();
      if (line) {
        this.last = line;
        this.seq++;
        break;
      }
    }
  }

  /** The latest non-empty line and a counter that changes with every new line. */
  latest(): { seq: number; line: string } | null {
    return this.last === null ? null : { seq: this.seq, line: this.last };
  }
}

/** Cuts `text` to at most `max` UTF-16 units (the protocol's limit) without splitting a surrogate pair. */
export function truncateMessage(text: string, max = 1024): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max);
  const lastCode = cut.charCodeAt(cut.length - 1);
  if (lastCode >= 0xd800 && lastCode <= 0xdbff) cut = cut.slice(0, -1);
  return cut;
}

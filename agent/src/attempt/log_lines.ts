// Splits a job's output bytes into lines for the live log. "\n" and "\r\n" end a line; a
// lone "\r" ends a redraw (a progress bar going back to the start of its row), which the
// next redraw or line overwrites, as on a terminal. A line longer than `maxChars` keeps its
// head; the rest is dropped here (the stored log file has it whole), so one endless line
// cannot grow memory.
import { truncateMessage } from "./line_tracker.ts";

/** A finished piece of output: a line, or a redraw that what comes next on its row replaces. */
export interface LinePiece {
  kind: "line" | "redraw";
  text: string;
}

export class LineSplitter {
  private readonly decoder = new TextDecoder();
  private partial = "";
  /**
   * The text of a redraw that ended a chunk: a "\n" starting the next chunk makes it the
   * "\r\n" line it was. The redraw goes out at once, so a bar waiting at "30%\r" shows 30%.
   */
  private crAtEnd: string | null = null;

  constructor(private readonly maxChars: number) {}

  /** Feeds raw bytes; `emit` gets every piece they finish, in order. */
  push(chunk: Uint8Array, emit: (p: LinePiece) => void): void {
    this.split(this.decoder.decode(chunk, { stream: true }), emit);
  }

  /** The output ended: what is left (an unfinished last line) becomes a line. */
  end(emit: (p: LinePiece) => void): void {
    this.split(this.decoder.decode(), emit);
    if (this.partial !== "") emit({ kind: "line", text: this.take() });
  }

  private split(text: string, emit: (p: LinePiece) => void): void {
    if (text === "") return;
    if (this.crAtEnd !== null && text.startsWith("\n")) {
      emit({ kind: "line", text: this.crAtEnd });
      text = text.slice(1);
    }
    this.crAtEnd = null;
    const re = /\r\n|\r|\n/g;
    let from = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      this.append(text.slice(from, m.index));
      from = m.index + m[0].length;
      const piece = this.take();
      if (m[0] !== "\r") emit({ kind: "line", text: piece });
      else {
        if (piece !== "") emit({ kind: "redraw", text: piece });
        if (from === text.length) this.crAtEnd = piece;
      }
    }
    this.append(text.slice(from));
  }

  private append(s: string): void {
    // One unit over the limit is kept so take() can cut without splitting a surrogate pair.
    if (this.partial.length <= this.maxChars) this.partial = (this.partial + s).slice(0, this.maxChars + 1);
  }

  private take(): string {
    const text = truncateMessage(this.partial, this.maxChars);
    this.partial = "";
    return text;
  }
}

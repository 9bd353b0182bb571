// Asks the gateway for presigned PUT URLs over the socket. A request lost with a dropped
// connection is asked again (with a new request_id) after the next welcome; a gateway that
// does not answer at all is given a few tries, then the upload counts as failed.
import { ID_PREFIX, newId, type PresignRequestMessage, type PresignResponseMessage } from "../../packages/protocol/src/index.ts";
import type { Logger } from "./log.ts";
import type { SessionHub } from "./session_hub.ts";
import { deferred, raceWith } from "./timers.ts";

export class PresignError extends Error {
  override name = "PresignError";
}

export class Presigner {
  private readonly waiting = new Map<string, (r: PresignResponseMessage) => void>();

  constructor(
    private readonly hub: SessionHub,
    private readonly log: Logger,
    private readonly timeoutMs: number,
    private readonly maxTries = 3,
  ) {}

  /** Routes a presign.response to the request waiting for it. */
  resolve(msg: PresignResponseMessage): void {
    const waiter = this.waiting.get(msg.request_id);
    if (waiter) waiter(msg);
    else this.log.warn("presign.response for no pending request", { request_id: msg.request_id });
  }

  /** Presigns `files` for an attempt; null if `signal` aborts; PresignError when the gateway never answers. */
  async request(attemptId: string, files: PresignRequestMessage["files"], signal: AbortSignal): Promise<PresignResponseMessage | null> {
    let timeouts = 0;
    while (!signal.aborted) {
      const session = await this.hub.next(signal);
      if (!session) return null;
      const requestId = newId(ID_PREFIX.request);
      const answer = deferred<PresignResponseMessage>();
      this.waiting.set(requestId, answer.resolve);
      try {
        if (!session.send({ type: "presign.request", request_id: requestId, attempt_id: attemptId, files })) {
          await raceWith([session.ended], signal, 1_000);
          continue;
        }
        const r = await raceWith<PresignResponseMessage | "ended">([answer.promise, session.ended.then(() => "ended" as const)], signal, this.timeoutMs);
        if (r === "aborted") return null;
        if (r === "ended") {
          this.log.info("connection dropped while waiting for presigned URLs; will ask again", { attempt_id: attemptId });
          continue;
        }
        if (r === "timeout") {
          if (++timeouts >= this.maxTries) throw new PresignError(`gateway sent no presign.response in ${this.maxTries} tries`);
          this.log.warn("no presign.response in time; asking again", { attempt_id: attemptId, request_id: requestId });
          continue;
        }
        return r;
      } finally {
        this.waiting.delete(requestId);
      }
    }
    return null;
  }
}

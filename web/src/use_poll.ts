// Live data for the pages that have no event stream (lists, agents): fetch now, then again
// every few seconds while the page is open; an error is kept beside the last good answer.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiFailure, asFailure } from "./api/client.ts";

/** The latest answer of `load`, its error, and a way to load again at once. */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[]): { data: T | null; error: ApiFailure | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiFailure | null>(null);
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    load().then(
      (v) => mine === generation.current && (setData(v), setError(null)),
      (err) => mine === generation.current && setError(asFailure(err)),
    );
  }, deps);
  useEffect(() => {
    setData(null);
    run();
    // A tab in the background does not poll: the API box has little bandwidth to spare.
    const timer = setInterval(() => document.hidden || run(), everyMs);
    return () => {
      clearInterval(timer);
      generation.current++;
    };
  }, [run]);
  return { data, error, reload: run };
}

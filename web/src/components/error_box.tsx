// An API failure as a person reads it: the API's message, its code, and the request id to
// quote in a bug report.
import type { ApiFailure } from "../api/client.ts";

/** Shows a failure, or nothing. */
export function ErrorBox({ error }: { error: ApiFailure | null | undefined }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <strong>{error.message}</strong>
      <div class="error-meta">
        <span>code <code>{error.code}</code></span>
        {error.status > 0 && <span>HTTP {error.status}</span>}
        {error.requestId && <span>request id <code class="request-id">{error.requestId}</code></span>}
      </div>
    </div>
  );
}

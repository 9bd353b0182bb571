// Sign in with an API token: checked against the API, then kept in this tab only.
import { useState } from "preact/hooks";
import { ApiFailure, asFailure } from "../api/client.ts";
import type { Me } from "@labbridge/protocol";
import { ErrorBox } from "../components/error_box.tsx";
import { signIn } from "../session.ts";
import { whoAmI } from "../who_am_i.ts";

/** The sign-in form. */
export function SignIn({ onSignedIn, reason }: { onSignedIn: (me: Me | null) => void; reason: ApiFailure | null }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<ApiFailure | null>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const me = await whoAmI(token.trim());
      signIn(token.trim());
      onSignedIn(me);
    } catch (err) {
      setError(asFailure(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>LabBridge</h1>
      <form onSubmit={submit}>
        <label>
          API token
          <input name="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} required />
        </label>
        <button type="submit" disabled={busy || token.trim() === ""}>Sign in</button>
        <p class="muted">The token stays in this tab (sessionStorage) and is sent only in the Authorization header.</p>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}

// API tokens (admins): mint one for a user (the secret is shown once), list them without
// their secrets, revoke. A user who opens this sees the API's refusal.
import { useState } from "preact/hooks";
import { api, ApiFailure, asFailure } from "../api/client.ts";
import type { ApiToken, MintedToken, Page } from "@labbridge/protocol";
import { ErrorBox } from "../components/error_box.tsx";
import { StateBadge } from "../components/state_badge.tsx";
import { TimeAgo } from "../components/time_ago.tsx";
import { usePoll } from "../use_poll.ts";

/** The tokens page. */
export function TokensPage() {
  const { data, error, reload } = usePoll(() => api<Page<ApiToken>>("GET", "/v1/api-tokens"), 10_000, []);
  const [form, setForm] = useState({ owner: "", role: "user", name: "", ttlDays: "" });
  const [minted, setMinted] = useState<MintedToken | null>(null);
  const [actionError, setActionError] = useState<ApiFailure | null>(null);
  const mint = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = { owner: form.owner.trim(), role: form.role };
    if (form.name.trim()) body.name = form.name.trim();
    if (form.ttlDays) body.ttl_seconds = Math.round(Number(form.ttlDays) * 86_400);
    try {
      setMinted(await api<MintedToken>("POST", "/v1/api-tokens", body));
      setActionError(null);
      reload();
    } catch (err) {
      setActionError(asFailure(err));
    }
  };
  const revoke = async (id: string) => {
    try {
      await api("DELETE", `/v1/api-tokens/${encodeURIComponent(id)}`);
      setActionError(null);
      reload();
    } catch (err) {
      setActionError(asFailure(err));
    }
  };
  const set = (name: keyof typeof form) => ({ name, value: form[name], onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }) });
  return (
    <section>
      <h1>API tokens</h1>
      <form class="inline" onSubmit={mint}>
        <label>Owner <input {...set("owner")} required placeholder="alice" /></label>
        <label>
          Role
          <select {...set("role")}><option value="user">user</option><option value="admin">admin</option></select>
        </label>
        <label>Name <input {...set("name")} placeholder="laptop" /></label>
        <label>Expires in (days) <input {...set("ttlDays")} type="number" min={1} placeholder="90" /></label>
        <button type="submit">Create token</button>
      </form>
      {minted && (
        <div class="notice" data-testid="minted">
          Token for <strong>{minted.owner}</strong> ({minted.role}), shown once: <code class="secret">{minted.token}</code>
        </div>
      )}
      <ErrorBox error={actionError} />
      <h2>Tokens</h2>
      <ErrorBox error={error} />
      {data && (
        <table class="list tokens">
          <thead><tr><th>Id</th><th>Owner</th><th>Role</th><th>Name</th><th>Created</th><th>Expires</th><th></th></tr></thead>
          <tbody>
            {data.items.length === 0 && <tr><td colSpan={7} class="muted">No tokens.</td></tr>}
            {data.items.map((t) => (
              <tr key={t.id}>
                <td><code>{t.id}</code></td><td>{t.owner}</td><td>{t.role}</td><td>{t.name || "—"}</td>
                <td><TimeAgo at={t.created_at} /></td><td><TimeAgo at={t.expires_at} /></td>
                <td>{t.revoked_at ? <StateBadge state="REVOKED" /> : <button type="button" class="danger" onClick={() => revoke(t.id)}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

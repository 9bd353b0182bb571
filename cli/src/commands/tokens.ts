// `lb tokens list|create|revoke`: API tokens (API.md "Users, tokens"). A created token is
// shown once, on stdout only, so it can be piped into `lb login --token-stdin`.
import type { ApiToken, MintedToken, Page } from "@labbridge/protocol";
import type { ApiClient } from "../api_client.ts";
import { table, type Output } from "../output.ts";

/** Lists tokens (an admin sees all, a user their own). */
export async function listTokens(api: ApiClient, out: Output): Promise<void> {
  const items: ApiToken[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<ApiToken> = (await api.call("GET", `/v1/api-tokens${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`)).body;
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  out.result({ items }, () => table(["ID", "OWNER", "ROLE", "NAME", "EXPIRES"], items.map((t) => [t.id, t.owner, t.role, t.name ?? "", t.expires_at ?? ""])));
}

/** Mints a token (admin). */
export async function createToken(api: ApiClient, opts: { owner: string; role: string; name?: string; ttl?: number }, out: Output): Promise<void> {
  const body = { owner: opts.owner, role: opts.role, ...(opts.name ? { name: opts.name } : {}), ...(opts.ttl !== undefined ? { ttl_seconds: opts.ttl } : {}) };
  const token = (await api.call<MintedToken>("POST", "/v1/api-tokens", { body })).body;
  out.result(token, () => token.token);
  out.note(`token ${token.id ?? ""} for ${token.owner} (${token.role}); it is shown only once`);
}

/** Revokes a token at once. */
export async function revokeToken(api: ApiClient, id: string, out: Output): Promise<void> {
  await api.call("DELETE", `/v1/api-tokens/${encodeURIComponent(id)}`);
  out.result({ id, revoked: true }, () => `${id}: revoked`);
}

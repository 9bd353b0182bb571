// The top bar: the pages, who is signed in, and sign out. Tokens and audit are for admins;
// while the role is unknown (GET /v1/me not answered) they stay, and the API decides.
import type { Me } from "@labbridge/protocol";
import { href } from "../router.ts";

const PAGES: { name: string; label: string; admin?: boolean }[] = [
  { name: "jobs", label: "Jobs" },
  { name: "agents", label: "Agents" },
  { name: "submit", label: "Submit" },
  { name: "tokens", label: "Tokens", admin: true },
  { name: "audit", label: "Audit", admin: true },
];

/** The navigation bar. */
export function Nav({ page, me, onSignOut }: { page: string; me: Me | null; onSignOut: () => void }) {
  return (
    <header class="nav">
      <span class="brand">LabBridge</span>
      <nav>
        {PAGES.filter((p) => !p.admin || me?.role !== "user").map((p) => (
          <a key={p.name} href={href(p.name)} class={page === p.name ? "active" : ""} data-page={p.name}>{p.label}</a>
        ))}
      </nav>
      <span class="who">
        {me ? <>{me.owner} <span class="muted">({me.role})</span></> : <span class="muted">role unknown</span>}
        <button type="button" class="link" onClick={onSignOut}>Sign out</button>
      </span>
    </header>
  );
}

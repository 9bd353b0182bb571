// The dashboard: sign in, then one page per route. The role from GET /v1/me hides the
// admin pages from users (the API refuses them anyway).
import { useEffect, useState } from "preact/hooks";
import { ApiFailure } from "./api/client.ts";
import type { Me } from "@labbridge/protocol";
import { Nav } from "./components/nav.tsx";
import { AgentsPage } from "./pages/agents.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { JobDetailPage } from "./pages/job_detail.tsx";
import { JobsPage } from "./pages/jobs.tsx";
import { SignIn } from "./pages/sign_in.tsx";
import { SubmitPage } from "./pages/submit.tsx";
import { TokensPage } from "./pages/tokens.tsx";
import { useRoute } from "./router.ts";
import { sessionToken, signOut } from "./session.ts";
import { whoAmI } from "./who_am_i.ts";

type Session = { state: "checking" } | { state: "out"; reason: ApiFailure | null } | { state: "in"; me: Me | null };

/** The whole page. */
export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session>(() => (sessionToken() ? { state: "checking" } : { state: "out", reason: null }));
  useEffect(() => {
    if (session.state !== "checking") return;
    whoAmI().then(
      (me) => setSession({ state: "in", me }),
      (err: ApiFailure) => {
        if (err.status === 401) signOut();
        setSession(err.status === 401 ? { state: "out", reason: err } : { state: "in", me: null });
      },
    );
  }, [session.state]);

  if (session.state === "checking") return <p class="muted page">Checking the token…</p>;
  if (session.state === "out") return <SignIn reason={session.reason} onSignedIn={(me) => setSession({ state: "in", me })} />;
  const [page = "jobs", id] = route.parts;
  return (
    <>
      <Nav page={page} me={session.me} onSignOut={() => (signOut(), setSession({ state: "out", reason: null }))} />
      <main class="page">
        {page === "jobs" && id ? <JobDetailPage id={id} /> : null}
        {page === "jobs" && !id ? <JobsPage query={route.query} me={session.me} /> : null}
        {page === "agents" && <AgentsPage me={session.me} />}
        {page === "submit" && <SubmitPage />}
        {page === "tokens" && <TokensPage />}
        {page === "audit" && <AuditPage />}
        {!["jobs", "agents", "submit", "tokens", "audit"].includes(page) && <p>No page "{page}".</p>}
      </main>
    </>
  );
}

// Pages live in the URL's hash (#/jobs/job_…), so the API serves one index.html and a
// reload or a shared link opens the same page; the hash never reaches the server.
import { useEffect, useState } from "preact/hooks";

/** The current route: its path segments after "#/", and its query. */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function current(): Route {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path = "", q = ""] = raw.split("?", 2);
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

/** The route, updated when the hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const onChange = () => setRoute(current());
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** A link target for a page: `href("jobs", id)` → "#/jobs/<id>". */
export function href(...parts: string[]): string {
  return "#/" + parts.map(encodeURIComponent).join("/");
}

/** Goes to a page. */
export function go(target: string): void {
  location.hash = target.replace(/^#/, "");
}

// The signed-in token lives in this tab's sessionStorage only: it is gone when the tab
// closes, is not shared with other tabs, and is never put in a URL or localStorage.
const KEY = "labbridge.token";

/** The token of this tab, or null when signed out. */
export function sessionToken(): string | null {
  return sessionStorage.getItem(KEY);
}

/** Keeps the token for this tab. */
export function signIn(token: string): void {
  sessionStorage.setItem(KEY, token);
}

/** Forgets the token. */
export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

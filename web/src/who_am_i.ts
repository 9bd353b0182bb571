// Who a token belongs to. GET /v1/me tells the owner and role; an API without that endpoint
// (404) still proves the token good or bad through GET /v1/jobs, and the role stays unknown.
import { api, ApiFailure } from "./api/client.ts";
import type { Me, Page, JobView } from "@labbridge/protocol";

/** The token's owner and role (null when the API cannot say); throws ApiFailure for a bad token. */
export async function whoAmI(token?: string): Promise<Me | null> {
  try {
    return await api<Me>("GET", "/v1/me", undefined, { token });
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 404) throw err;
  }
  await api<Page<JobView>>("GET", "/v1/jobs?limit=1", undefined, { token });
  return null;
}

// /v1/uploads: a presigned PUT for a new input object. The client sends the bytes straight
// to object storage; the API keeps only the name, size and sha256.
import { fileNameProblem, ID_PREFIX, inputKey, isIntIn, isObject, newId, unknownFieldProblems, type Problem } from "@labbridge/protocol";
import { recordUpload, type Principal } from "@labbridge/store";
import type { Request, Response } from "@labbridge/uws";
import type { ApiContext } from "../api_context.ts";
import { validationError } from "../api_error.ts";
import { jsonBody } from "../request_body.ts";
import type { Route } from "../router.ts";

/** Largest single-PUT upload (OSS allows 5 GiB in one PUT). */
const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;

async function create(ctx: ApiContext, req: Request, _p: string[], who: Principal): Promise<Response> {
  const body = jsonBody(req);
  if (!isObject(body)) throw validationError([{ field: "", reason: "must be a JSON object" }]);
  const problems: Problem[] = unknownFieldProblems(body, ["name", "size", "sha256"]);
  const nameProblem = fileNameProblem(body.name);
  if (nameProblem) problems.push({ field: "name", reason: nameProblem });
  if (!isIntIn(body.size, 0, MAX_UPLOAD_BYTES)) problems.push({ field: "size", reason: `must be a whole number of bytes up to ${MAX_UPLOAD_BYTES}` });
  if (body.sha256 !== undefined && (typeof body.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(body.sha256))) {
    problems.push({ field: "sha256", reason: "must be 64 lowercase hex characters" });
  }
  if (problems.length) throw validationError(problems);
  const now = ctx.clock();
  const id = newId(ID_PREFIX.upload, now);
  const key = inputKey(id, body.name as string);
  const signed = ctx.storage.presignPut(key, ctx.config.presignSeconds);
  await recordUpload(ctx.pool, { id, owner: who.owner, key, name: body.name as string, size: body.size as number, sha256: (body.sha256 as string) ?? null, now: new Date(now) });
  return { status: 201, body: { key, method: "PUT", url: signed.url, headers: signed.headers, expires_at: signed.expiresAt } };
}

/** The upload routes. */
export const uploadRoutes: Route[] = [{ method: "POST", path: "/v1/uploads", auth: true, handle: create }];

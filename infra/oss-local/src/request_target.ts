import { objectKeyProblem } from "@labbridge/storage";
import { invalidArgument, invalidObjectName, OssError } from "./oss_error.ts";

// The raw request target is decoded by hand: WHATWG URL would fold "." and ".." segments and
// URLSearchParams would turn "+" into a space, and either would make the key or a signed
// sub-resource differ from what the client signed.

/** One query parameter; `value` is null for a bare name such as `?uploads`. */
export interface QueryParam {
  name: string;
  value: string | null;
}

/** What a request addresses: the object key ("" for the bucket itself) and its query. */
export interface RequestTarget {
  key: string;
  /** Every parameter in request order, duplicates kept. */
  params: QueryParam[];
  /** First value per name. */
  query: Map<string, string | null>;
}

/** Decodes `rawUrl` (path and query as sent) into a key and query; throws OssError on bad input. */
export function parseRequestTarget(rawUrl: string): RequestTarget {
  if (!rawUrl.startsWith("/")) throw new OssError(400, "InvalidURI", `Invalid request target ${JSON.stringify(rawUrl)}: must start with "/"`);
  const queryStart = rawUrl.indexOf("?");
  const rawPath = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
  const rawQuery = queryStart < 0 ? "" : rawUrl.slice(queryStart + 1);

  const key = decode(rawPath.slice(1), "path");
  if (key !== "") {
    const problem = objectKeyProblem(key);
    if (problem) throw invalidObjectName(`Invalid object key ${JSON.stringify(key)}: ${problem}`);
  }

  const params: QueryParam[] = [];
  const query = new Map<string, string | null>();
  for (const pair of rawQuery.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decode(eq < 0 ? pair : pair.slice(0, eq), "query");
    const value = eq < 0 ? null : decode(pair.slice(eq + 1), "query");
    params.push({ name, value });
    if (!query.has(name)) query.set(name, value);
  }
  return { key, params, query };
}

function decode(raw: string, part: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidArgument(`Invalid percent-encoding in the ${part}: ${JSON.stringify(raw.slice(0, 200))}`);
  }
}

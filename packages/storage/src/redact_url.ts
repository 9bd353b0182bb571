// A presigned URL is a bearer credential until it expires, so logs get it without the
// signature and the values that tie it to a key or an STS session. The rest of the URL is
// kept byte for byte, which keeps the log useful for matching against a request.

const SECRET_PARAMS = new Set([
  "signature",
  "ossaccesskeyid",
  "security-token",
  "x-oss-signature",
  "x-oss-credential",
  "x-oss-security-token",
]);

/** The URL (absolute, or a path with a query) with its signature and credential values replaced by `REDACTED`. */
export function redactPresignedUrl(url: string): string {
  const queryStart = url.indexOf("?");
  if (queryStart < 0) return url;
  const fragmentStart = url.indexOf("#", queryStart);
  const queryEnd = fragmentStart < 0 ? url.length : fragmentStart;
  const query = url
    .slice(queryStart + 1, queryEnd)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      return SECRET_PARAMS.has(decodeName(rawName).toLowerCase()) ? `${rawName}=REDACTED` : pair;
    })
    .join("&");
  return url.slice(0, queryStart + 1) + query + url.slice(queryEnd);
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return raw;
  }
}

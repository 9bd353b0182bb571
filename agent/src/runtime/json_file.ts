// Reading one of the agent's small JSON files (agent.json, control.json, pause.json,
// job-account.json): a missing file is a normal state (not enrolled, not running, nothing
// paused), not an error, and text that is not JSON is something each caller words its own
// way (its own error type, or "treat it as absent"). Any other read error (permissions, a
// folder in its place) is thrown as Deno raised it.

/** The parsed content of a JSON file (`value` may itself be JSON null). */
export interface JsonFileContent {
  value: unknown;
}

/**
 * Reads and parses the JSON file at `path`: null when there is none; when its text is not
 * JSON, what `notJson` returns (or the error it throws, for callers with their own message).
 */
export async function readJsonFile<D = never>(path: string, notJson: (error: SyntaxError) => D): Promise<JsonFileContent | D | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return notJson(e as SyntaxError);
  }
}

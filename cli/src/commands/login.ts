// `lb login --server <url>`: checks a token against the API and stores both in the user's
// config file (0600). The token comes from LB_TOKEN, from stdin (--token-stdin, or a pipe),
// or from a prompt that does not echo, never from an argument that shell history would keep.
import { createInterface } from "node:readline";
import { ApiClient } from "../api_client.ts";
import { writeLogin } from "../config_file.ts";
import { CliError, EXIT } from "../exit_codes.ts";
import type { Output } from "../output.ts";

/** Options of `lb login`. */
export interface LoginOptions {
  server: string;
  tokenStdin?: boolean;
}

/** Logs in and stores the login. */
export async function login(opts: LoginOptions, out: Output): Promise<void> {
  let server: URL;
  try {
    server = new URL(opts.server);
  } catch {
    throw new CliError(`Invalid server "${opts.server}": expected an http(s) URL such as http://127.0.0.1:8080`, EXIT.usage);
  }
  if (server.protocol !== "http:" && server.protocol !== "https:") {
    throw new CliError(`Invalid server "${opts.server}": expected an http or https URL`, EXIT.usage);
  }
  const base = server.origin + server.pathname.replace(/\/+$/, "");
  const token = (await readToken(opts)).trim();
  if (!token) throw new CliError("No token given: set LB_TOKEN, pipe it to --token-stdin, or type it at the prompt", EXIT.usage);
  const api = new ApiClient(base, token);
  const who = await whoAmI(api);
  const path = await writeLogin({ server: base, token });
  out.result({ server: base, ...who, config_path: path }, () => `Logged in to ${base}${who.owner ? ` as ${who.owner}` : ""} (saved in ${path})`);
}

/** The principal of the token: GET /v1/me, or a cheap authenticated call on an API without it. */
async function whoAmI(api: ApiClient): Promise<{ owner: string | null; role: string | null }> {
  const me = await api.call<{ owner: string; role: string }>("GET", "/v1/me", { accept: [404] });
  if (me.status === 200) return { owner: me.body.owner, role: me.body.role };
  await api.call("GET", "/v1/jobs?limit=1");
  return { owner: null, role: null };
}

async function readToken(opts: LoginOptions): Promise<string> {
  if (process.env.LB_TOKEN) return process.env.LB_TOKEN;
  if (opts.tokenStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
  }
  return prompt("API token: ");
}

function prompt(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Echo the question, then nothing of what is typed.
  const writable = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(question);
  writable._writeToOutput = () => {};
  return new Promise((resolve) => rl.question("", (answer) => {
    rl.close();
    process.stderr.write("\n");
    resolve(answer);
  }));
}

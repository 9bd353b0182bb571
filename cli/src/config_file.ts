// Where `lb` keeps the server and token: the user's config folder (XDG on Linux and macOS,
// %APPDATA% on Windows), in a file only the user can read (0600), so the token never sits in
// shell history or in a world-readable place. LB_SERVER and LB_TOKEN override it.
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError, EXIT } from "./exit_codes.ts";

/** What `lb login` stores. */
export interface StoredLogin {
  server: string;
  token: string;
}

/** The folder `lb` keeps its config in. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === "win32" && env.APPDATA) return join(env.APPDATA, "labbridge");
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "labbridge");
}

/** The folder `lb` keeps resumable-upload state in (not config: it may be deleted at will). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === "win32" && (env.LOCALAPPDATA || env.APPDATA)) return join((env.LOCALAPPDATA || env.APPDATA)!, "labbridge");
  return join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "labbridge");
}

/** The config file's path. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), "config.json");
}

/** The stored login, or null when there is none. */
export async function readLogin(env: NodeJS.ProcessEnv = process.env): Promise<StoredLogin | null> {
  let text: string;
  try {
    text = await readFile(configPath(env), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<StoredLogin>;
    if (typeof parsed.server === "string" && typeof parsed.token === "string") return { server: parsed.server, token: parsed.token };
  } catch {
    // Fall through to the error below.
  }
  throw new CliError(`Config file "${configPath(env)}" is not an lb login: run lb login again`, EXIT.auth);
}

/** Writes the login with mode 0600 (folder 0700), replacing the old file in one rename. */
export async function writeLogin(login: StoredLogin, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = configPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode is masked by umask and ignored for an existing file: set it outright.
  await chmod(temp, 0o600);
  await rename(temp, path);
  return path;
}

/** The server and token to use: LB_SERVER / LB_TOKEN over the stored login. */
export async function resolveLogin(env: NodeJS.ProcessEnv = process.env): Promise<StoredLogin> {
  const stored = await readLogin(env);
  const server = env.LB_SERVER || stored?.server;
  const token = env.LB_TOKEN || stored?.token;
  if (!server || !token) throw new CliError("Not logged in: run lb login --server <api url>, or set LB_SERVER and LB_TOKEN", EXIT.auth);
  return { server: server.replace(/\/+$/, ""), token };
}

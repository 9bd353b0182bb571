// Linux side of the service seam: systemd, useradd, a root-only 0700 state folder.
import { systemdHost } from "../service/systemd_host.ts";
import { checked, type CommandRunner } from "../service/command_runner.ts";
import { DEFAULT_SERVICE_STATE_DIR } from "../service/service_definition.ts";
import type { ServiceSeam } from "./service_seam.ts";
import { parsePasswd } from "./posix_accounts.ts";

/** The login shell given to the job account: one that refuses logins. */
export function noLoginShell(exists: (path: string) => boolean): string {
  return ["/usr/sbin/nologin", "/sbin/nologin"].find(exists) ?? "/bin/false";
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** What the Linux seam needs; tests point `passwdPath` and `unitDir` at their own files where needed. */
export interface LinuxServiceDeps {
  run: CommandRunner;
  passwdPath?: string;
  unitDir?: string;
  systemdRunning?: () => boolean;
}

/** The Linux service seam. */
export function linuxServiceSeam(deps: LinuxServiceDeps): ServiceSeam {
  const passwdPath = deps.passwdPath ?? "/etc/passwd";
  return {
    platform: "linux",
    isElevated: () => Promise.resolve(Deno.uid() === 0),
    defaultStateDir: () => DEFAULT_SERVICE_STATE_DIR.linux,
    host: (def) => systemdHost(def, { run: deps.run, unitDir: deps.unitDir, systemdRunning: deps.systemdRunning }),
    async ensureJobAccount(user) {
      const existing = parsePasswd(await Deno.readTextFile(passwdPath)).find((a) => a.name === user);
      if (existing?.uid === 0) throw new Error(`Job account "${user}" has uid 0: jobs never run as root`);
      if (existing) return [`job account "${user}" exists (uid ${existing.uid})`];
      // A system account: no home, no login shell, no password (locked). Jobs get it through setpriv.
      checked(`useradd ${user}`, await deps.run("useradd", ["--system", "--no-create-home", "--shell", noLoginShell(fileExists), user]));
      return [`created job account "${user}"`];
    },
    async restrictStateFolder(dir) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      await Deno.chown(dir, 0, 0);
      await Deno.chmod(dir, 0o700);
      return [`"${dir}" is root's, mode 0700`];
    },
    async stateFolderProblem(dir) {
      let st: Deno.FileInfo;
      try {
        st = await Deno.stat(dir);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return `"${dir}" does not exist`;
        throw e;
      }
      if (st.uid !== 0) return `"${dir}" is owned by uid ${st.uid}, not root`;
      const mode = (st.mode ?? 0) & 0o777;
      if ((mode & 0o077) !== 0) return `"${dir}" has mode 0${mode.toString(8)}: group and others can reach the credential`;
      return null;
    },
  };
}

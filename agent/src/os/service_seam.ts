// The OS-specific half of `agent service …` and of doctor's account and folder checks:
// who may install, the job account, the state folder's access, and the service host.
// Linux: os/linux_service.ts (run for real in tests); Windows: os/windows/windows_service.ts
// (driven through a recording runner; docs/WINDOWS-CHECKLIST.md lists what only Windows shows).
import type { ServiceDefinition, ServicePlatformName } from "../service/service_definition.ts";
import type { ServiceHost } from "../service/service_host.ts";

export interface ServiceSeam {
  readonly platform: ServicePlatformName;
  /** Whether this process may install services and accounts (root; an elevated Administrator or SYSTEM). */
  isElevated(): Promise<boolean>;
  /** The state folder a service uses by default, with environment variables expanded. */
  defaultStateDir(): string;
  /** The service host (systemd, WinSW) for `def`. */
  host(def: ServiceDefinition): ServiceHost;
  /**
   * Creates the job account `user` where it is missing (Windows: also sets a fresh password and
   * writes job-account.json into `stateDir`, so a re-run rotates it). Returns what it did.
   */
  ensureJobAccount(user: string, stateDir: string): Promise<string[]>;
  /** Creates `dir` if needed and limits it to SYSTEM and Administrators (Linux: root, 0700). */
  restrictStateFolder(dir: string): Promise<string[]>;
  /** Why `dir` is open to more than SYSTEM and Administrators (Linux: root), or null; throws when its access cannot be read. */
  stateFolderProblem(dir: string): Promise<string | null>;
}

// What `agent service install | uninstall | start | stop | status` drive: WinSW on Windows,
// systemd on Linux. The host registers the generated definition; the platform seam
// (os/service_seam.ts) does the rest of an install (job account, state folder ACL).

/** Where a service stands. */
export interface ServiceState {
  installed: boolean;
  running: boolean;
  /** For people: the host's own word ("Started", "active", "systemd is not running here"). */
  detail: string;
}

/** The service host on this machine. */
export interface ServiceHost {
  /** "winsw" or "systemd". */
  readonly kind: string;
  /** The definition's text, as it would be written (WinSW XML, systemd unit). */
  definitionText(): string;
  /** Where the definition goes. */
  definitionPath(): string;
  /** Writes the definition and registers the service (automatic start); idempotent. Returns what it did, for people. */
  install(): Promise<string[]>;
  /** Stops (if running) and unregisters the service, and removes the definition; idempotent. */
  uninstall(): Promise<string[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Promise<ServiceState>;
}

// `service <action>` and `doctor` on the command line.
import { parseCliArgs, UsageError } from "../src/cli/cli_args.ts";
import { assertEquals } from "./helpers/assert.ts";

function usageError(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
}

Deno.test("cli: service actions take the state folder, the job account and (print) a platform", () => {
  assertEquals(parseCliArgs(["service", "install"]), { command: "service", action: "install", stateDir: null, jobUser: null, platform: null });
  assertEquals(parseCliArgs(["service", "install", "--state-dir", "/var/lib/lb", "--job-user", "lbjob"]), {
    command: "service",
    action: "install",
    stateDir: "/var/lib/lb",
    jobUser: "lbjob",
    platform: null,
  });
  assertEquals(parseCliArgs(["service", "print", "--platform=windows"]), {
    command: "service",
    action: "print",
    stateDir: null,
    jobUser: null,
    platform: "windows",
  });
  for (const action of ["uninstall", "start", "stop", "status"]) assertEquals((parseCliArgs(["service", action]) as { action: string }).action, action);
  assertEquals(parseCliArgs(["doctor"]), { command: "doctor", stateDir: null });
  assertEquals(parseCliArgs(["doctor", "--state-dir", "/x"]), { command: "doctor", stateDir: "/x" });
});

Deno.test("cli: a missing or unknown service action, a flag of another action and a bad platform are usage errors", () => {
  assertEquals(usageError(["service"]), "service needs an action: install, uninstall, start, stop, status, print");
  assertEquals(usageError(["service", "restart"]), 'unknown service action "restart"');
  assertEquals(usageError(["service", "start", "--job-user", "x"]), "unknown flag --job-user for service start");
  assertEquals(usageError(["service", "print", "--platform", "mac"]), '--platform "mac" must be windows or linux');
  assertEquals(usageError(["doctor", "--token", "x"]), "unknown flag --token for doctor");
});

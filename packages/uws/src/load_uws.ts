// Loads the native uWebSockets.js build and refuses to go on without it. The repackaged
// npm build silently falls back to a `ws` emulation when its binary does not load; a
// gateway on that fallback would hold a fraction of the agents it is sized for.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as Uws from "uWebSockets.js";

const require = createRequire(import.meta.url);

/** The uWebSockets.js module type. */
export type UwsModule = typeof Uws;

/** Path of the native binary this Node needs (platform, arch, ABI). */
export function nativeBinaryPath(): string {
  const pkgDir = dirname(require.resolve("uWebSockets.js/package.json"));
  return join(pkgDir, "binaries", `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
}

/** Loads the native build directly, bypassing the package's silent fallback; throws with advice if it cannot. */
export function loadNativeUws(): UwsModule {
  if (["1", "true"].includes((process.env.UWS_USE_FALLBACK ?? "").toLowerCase())) {
    throw new Error("Refusing to start on the uWebSockets.js ws fallback: unset UWS_USE_FALLBACK");
  }
  const path = nativeBinaryPath();
  let mod: UwsModule;
  try {
    mod = require(path) as UwsModule;
  } catch (err) {
    throw new Error(
      `Cannot load the native uWebSockets.js build "${path}": ${(err as Error).message}. ` +
        "Use Node 20 on glibc x64/arm64 with uWebSockets.js@npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0; " +
        "the ws fallback is not accepted",
    );
  }
  // The native addon exposes the libus socket helpers; the JS fallback does not.
  if (typeof mod.App !== "function" || typeof (mod as { us_socket_local_port?: unknown }).us_socket_local_port !== "function") {
    throw new Error(`Module at "${path}" is not the native uWebSockets.js build`);
  }
  silenceServerHeader(mod);
  return mod;
}

/**
 * Stops uWS writing its `uWebSockets: 20` header on every HTTP response and upgrade. The
 * header is compiled in (UWS_HTTPRESPONSE_NO_WRITEMARK is off in the npm builds); the
 * addon's `_cfg("silent")` sets the loop's noMark flag instead, as the uWS.js TechEmpower
 * server does. Why we drop it: docs/decisions/0019-request-ids-and-strict-edges.md.
 */
function silenceServerHeader(mod: UwsModule): void {
  const cfg = (mod as unknown as { _cfg?: (key: string) => void })._cfg;
  if (typeof cfg !== "function") throw new Error("This uWebSockets.js build has no _cfg: cannot drop its uWebSockets header");
  cfg("silent");
}

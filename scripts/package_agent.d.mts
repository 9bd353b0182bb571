// Types for scripts/package_agent.mjs (plain Node ESM), as test/unit/package_agent.test.ts imports it.
export const WINSW: { version: string; url: string; sha256: string };
export const ZIP_FOLDER: string;
export class PackageError extends Error {}
export function sha256(bytes: Uint8Array): string;
export function agentVersion(): string;
export function checkWinsw(bytes: Uint8Array, expected?: string): void;
export function assemblePackage(files: { exe: Uint8Array; winsw: Uint8Array; xml: string; installPs1: string; readme: string; winswSha256?: string }): Uint8Array;
export function serviceXml(): string;
export function compileWindowsExe(env?: Record<string, string | undefined>): Uint8Array;
export function buildPackage(opts?: {
  exePath?: string | null;
  winswPath?: string | null;
  out?: string;
  env?: Record<string, string | undefined>;
  winswSha256?: string;
}): Promise<{ path: string; sha256: string; bytes: number }>;

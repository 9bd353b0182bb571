// Types for scripts/agent.mjs (plain Node ESM) as the permissions test imports it.
export function permissionFlags(): string[];
export function denoArgs(args: string[], opts?: { lifelineParent?: number | null }): string[];
export function windowsPermissionFlags(): string[];
export function compileArgs(platform: "linux" | "windows"): string[];

// A real browser for end-to-end tests of the dashboard: Debian's chromium, driven by
// playwright-core, headless with a fresh profile. Without the background-networking flags
// chromium reaches out to Google's services, which this network refuses.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { ROOT } from "./bridge.ts";

/** Where Debian installs chromium (`apt-get install chromium`; .ci/run does it when missing). */
export const CHROMIUM = process.env.LB_TEST_CHROMIUM ?? "/usr/bin/chromium";

/** Folder the e2e tests save their screenshots to (git-ignored). */
export const SCREENSHOT_DIR = join(ROOT, "test-output", "screenshots");

const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** A started browser with one page. */
export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot as `<name>.png` in SCREENSHOT_DIR; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts chromium with a fresh --user-data-dir. */
export async function startBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Cannot find chromium at "${CHROMIUM}": apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), "lb-chromium-"));
  // launchPersistentContext passes --user-data-dir=<profile> itself: a profile nobody used.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    context,
    page,
    async screenshot(name) {
      const path = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { onTestFailed } from 'vitest';
import { noNetlinkLibrary } from './no-netlink.js';
import { root } from './process.js';

export const CHROMIUM = '/usr/bin/chromium';
export const screenshots = join(root, 'test-results', 'screenshots');

/**
 * Debian's Chromium, headless, with the flags this machine needs (no sandbox as root, no background
 * networking: the network is closed). Fails clearly when the UI is not built or Chromium is missing.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(join(root, 'dist', 'web', 'index.html')))
    throw new Error('dist/web is missing: run npm run build:web before the UI tests.');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/install-test-deps.sh.`);
  await mkdir(screenshots, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    env: { ...process.env, LD_PRELOAD: await noNetlinkLibrary() },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** Signs in through the login page, as a person would, and waits for the landing page. */
export async function signInPage(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The operator lands on the organizations; a customer on their own organization's page.
  await page.waitForURL((url) => url.href.startsWith(`${baseUrl}/organizations`));
}

/**
 * When the running test fails, prints what `page` showed and where, and keeps a screenshot: a
 * timeout alone says what was awaited, not what was on the screen instead.
 */
export function describePageOnFailure(page: Page, label: string): void {
  onTestFailed(async () => {
    if (page.isClosed()) return;
    const file = join(screenshots, `failed-${label}.png`);
    const text = await page
      .evaluate<string>("document.body ? document.body.innerText : ''")
      .catch((error: unknown) => `(unreadable: ${(error as Error).message})`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    console.error(`[${label}] the page at ${page.url()} showed:\n${text.slice(0, 3000)}\n(screenshot: ${file})`);
  });
}

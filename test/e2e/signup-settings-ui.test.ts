import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/platform/context.js';
import { adminBrowser, as, createTestApp, STRONG_PASSWORD, signIn, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';
import { freePort, root } from '../helpers/process.js';
import { type SmtpCapture, startSmtpCapture } from '../helpers/smtp-capture.js';

/**
 * Settings → Sign-up in Chromium against a real Marina and PostgreSQL: opening sign-up without an
 * email server is refused with the reason on the page; with one, it opens, the lists and limits are
 * stored as typed, and the signed-out login page starts offering "Create an account".
 */
const after = '/work/screens/after';
let t: TestApp;
let browser: Browser;
let smtp: SmtpCapture;
let baseUrl: string;
let webDir: string;
const pageErrors: string[] = [];

async function shoot(page: Page, name: string): Promise<void> {
  const file = `W-${name}.png`;
  await page.screenshot({ path: join(screenshots, file), fullPage: true });
  await mkdir(after, { recursive: true });
  await copyFile(join(screenshots, file), join(after, file));
}

beforeAll(async () => {
  webDir = await mkdtemp(join(tmpdir(), 'marina-signup-settings-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  smtp = await startSmtpCapture();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  t = await createTestApp({
    MARINA_WEB_DIR: webDir,
    MARINA_PUBLIC_URL: baseUrl,
    MARINA_BASE_DOMAIN: 'apps.marina.test',
  });
  await t.app.listen({ host: '127.0.0.1', port });
  await adminBrowser(t);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await smtp?.stop();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

describe('Settings → Sign-up', { timeout: 120_000 }, () => {
  it('refuses to open without an email server, then opens with one and stores what was typed', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));

    // Closed: the login page offers no sign-up.
    await page.goto(`${baseUrl}/login`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await expect(page.getByRole('link', { name: 'Create an account' }).count()).resolves.toBe(0);

    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/settings?tab=sign-up`);
    const form = page.getByRole('form', { name: 'Sign-up settings' });
    await form.getByLabel('Open sign-up to the public').check();
    await form.getByLabel('Refused email domains').fill('throwaway.test\nMailinator.com');
    await form.getByLabel('Reserved names').fill('shop, billing-portal');
    await form.getByLabel('Per IP address, an hour').fill('5');
    await form.getByRole('button', { name: 'Save' }).click();
    // The server's 409, with its reason, where the admin looks.
    const refused = form.getByRole('alert').filter({ hasText: /SMTP/ });
    await refused.waitFor();
    await shoot(page, 'signup-settings-refused');
    const stillClosed = await as(t, await signIn(t.app, 'admin@example.com'))('GET', '/api/v1/settings/signup');
    expect(stillClosed.json<{ enabled: boolean }>().enabled).toBe(false);

    await t.services.settings.setSmtp(systemContext('test'), {
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      from: 'Marina <marina@hosting.test>',
      username: null,
      password: null,
    });
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Sign-up is open.').waitFor();
    await shoot(page, 'signup-settings');

    const stored = await as(t, await signIn(t.app, 'admin@example.com'))('GET', '/api/v1/settings/signup');
    expect(stored.json()).toEqual({
      enabled: true,
      refusedDomains: ['throwaway.test', 'mailinator.com'],
      reservedNames: ['shop', 'billing-portal'],
      perAddressPerDay: 3,
      perDomainPerDay: 20,
      perIpPerHour: 5,
    });

    // Open: a signed-out visitor is offered the form.
    const visitor = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const login = await visitor.newPage();
    login.on('pageerror', (error) => pageErrors.push(error.message));
    await login.goto(`${baseUrl}/login`);
    await login.getByRole('link', { name: 'Create an account' }).click();
    await login.waitForURL(`${baseUrl}/signup`);
    await visitor.close();
    await context.close();
    expect(pageErrors).toEqual([]);
  });
});

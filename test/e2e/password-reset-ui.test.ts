import { copyFile, mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/platform/context.js';
import { adminBrowser, createTestApp, STRONG_PASSWORD, signIn, type TestApp } from '../helpers/app.js';
import { launchChromium } from '../helpers/browser.js';
import { links, type SmtpCapture, startSmtpCapture } from '../helpers/smtp-capture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const screenshots = join(root, 'test-results', 'screenshots');
const NEW_PASSWORD = 'a brand new long passphrase';

let t: TestApp;
let smtp: SmtpCapture;
let browser: Browser;
let page: Page;
let baseUrl: string;
const pageErrors: string[] = [];

async function snap(name: string): Promise<void> {
  const path = join(screenshots, `accounts-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await mkdir('/work/screens/after', { recursive: true }).catch(() => undefined);
  await copyFile(path, `/work/screens/after/accounts-${name}.png`).catch(() => undefined);
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  t = await createTestApp({ MARINA_PUBLIC_URL: 'http://marina.test' });
  smtp = await startSmtpCapture();
  await t.services.settings.setSmtp(systemContext('test'), {
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: null,
    password: null,
  });
  await adminBrowser(t, 'ada@example.com');
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  await browser?.close();
  await smtp?.stop();
  await t?.close();
});

describe('forgot password, in the browser', () => {
  it('asks for a link from the sign-in page, sets a new password with it and lands signed in', async () => {
    await page.goto(`${baseUrl}/login`);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(`${baseUrl}/reset`);
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    await page.getByLabel('Email').fill('ada@example.com');
    await snap('reset-ask');
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByText('If ada@example.com has a Marina account, a reset link is on its way.').waitFor();
    await snap('reset-sent');

    await t.services.notices.drain();
    const mail = await smtp.waitForMessage((m) => m.to.includes('ada@example.com'));
    const url = links(mail).find((l) => l.startsWith('http://marina.test/reset#'));
    expect(url).toBeDefined();
    const token = url?.split('#')[1] ?? '';

    // The link opens as a new page, as from a mail client (not a hash change on this one).
    await page.goto('about:blank');
    await page.goto(`${baseUrl}/reset#${token}`);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await snap('reset-choose');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/reset') && !u.pathname.startsWith('/login'), {
      timeout: 30_000,
    });
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await signIn(t.app, 'ada@example.com', NEW_PASSWORD);
    await expect(signIn(t.app, 'ada@example.com', STRONG_PASSWORD)).rejects.toThrow();

    // The same link a second time says plainly that it is spent.
    const second = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await second.goto(`${baseUrl}/reset#${token}`);
      await second.getByLabel('New password', { exact: true }).fill('yet another long passphrase');
      await second.getByLabel('Confirm new password').fill('yet another long passphrase');
      await second.getByRole('button', { name: 'Set password and sign in' }).click();
      await second.getByText('This link no longer works').waitFor();
      expect(await second.getByRole('button', { name: 'Set password and sign in' }).count()).toBe(0);
      page = second;
      await snap('reset-spent');
      await second.getByRole('link', { name: 'Ask for a new one' }).click();
      await second.getByRole('heading', { name: 'Reset your password' }).waitFor();
    } finally {
      await second.close();
    }
    expect(pageErrors).toEqual([]);
  }, 90_000);
});

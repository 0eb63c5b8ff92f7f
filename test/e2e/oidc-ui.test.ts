import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, createTestApp, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';
import { makeOrganizationWithAdmin } from '../helpers/factories.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/process.js';

/**
 * Settings → Sign-in providers and the login page's provider button in Chromium: a platform admin
 * adds the test provider through the form (Marina reads its discovery document), then a signed-out
 * browser clicks "Sign in with Corp SSO", passes the provider's login and lands signed in.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const after = '/work/screens/after';
let t: TestApp;
let browser: Browser;
let provider: TestOidcProvider;
let baseUrl: string;
let webDir: string;
const pageErrors: string[] = [];

async function shoot(page: Page, name: string): Promise<void> {
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path });
  await mkdir(after, { recursive: true });
  await copyFile(path, join(after, `${name}.png`));
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-oidc-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  // The redirect URI registered at the provider is Marina's public address + the callback.
  t = await createTestApp(
    { MARINA_WEB_DIR: webDir, MARINA_PUBLIC_URL: baseUrl },
    { oidc: { allowInsecureIssuers: true } },
  );
  await t.app.listen({ host: '127.0.0.1', port });
  const admin = await adminBrowser(t);
  await makeOrganizationWithAdmin(t, admin, { slug: 'acme', email: 'ada@acme.test' });
  const allowed = await as(t, admin)('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
  expect(allowed.statusCode, allowed.body).toBe(200);
  provider = await startOidcProvider({ redirectUri: t.services.oidcFlows.redirectUri });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await provider?.close();
  await t?.close();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

describe('external sign-in in the browser', { timeout: 120_000 }, () => {
  it('lets a platform admin add a provider in Settings → Sign-in providers', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/settings?tab=sign-in`);
    await page.getByText('No sign-in provider').waitFor();
    await page.getByRole('button', { name: 'Add provider' }).click();
    const form = page.getByRole('form', { name: 'Sign-in provider' });
    await form.getByLabel('Name').fill('Corp SSO');
    await form.getByLabel('Slug').fill('corp');
    await form.getByLabel('Issuer').fill(provider.issuer);
    await form.getByLabel('Client ID').fill(provider.clientId);
    await form.getByLabel('Client secret').fill(provider.clientSecret);
    await form.getByRole('button', { name: 'Add provider' }).click();
    const table = page.getByRole('table', { name: 'Sign-in providers' });
    await table.getByText('Corp SSO').waitFor();
    await expect(table.getByText(provider.issuer).count()).resolves.toBe(1);
    expect(await page.content()).not.toContain(provider.clientSecret);
    await shoot(page, 'F-oidc-providers');
    await context.close();
  });

  it('signs a person in with the provider’s button on the login page', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${baseUrl}/login`);
    const button = page.getByRole('link', { name: 'Sign in with Corp SSO' });
    await button.waitFor();
    await shoot(page, 'F-login-providers');
    provider.signInAs({ sub: 'ada-ui', email: 'ada@acme.test', email_verified: true });
    await button.click();
    await page.waitForURL(`${baseUrl}/organizations**`);
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    expect((me as { user: { email: string } }).user.email).toBe('ada@acme.test');
    await context.close();
  });

  it('says why on the login page when the provider’s answer is refused', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    provider.signInAs({ sub: 'stranger', email: 'stranger@nowhere.test', email_verified: true });
    await page.goto(`${baseUrl}/login`);
    await page.getByRole('link', { name: 'Sign in with Corp SSO' }).click();
    await page.waitForURL(`${baseUrl}/login?error=no_account`);
    await page.getByText('No Marina account has that email address').waitFor();
    await shoot(page, 'F-login-no-account');
    await context.close();
    expect(pageErrors).toEqual([]);
  });
});

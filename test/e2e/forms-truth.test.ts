import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import { instanceHeldByAJob } from '../forms-truth-support.js';
import {
  adminBrowser,
  as,
  createTestApp,
  type Browser as Session,
  STRONG_PASSWORD,
  type TestApp,
} from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import { makeOrganization } from '../helpers/factories.js';
import { type SmtpCapture, startSmtpCapture } from '../helpers/smtp-capture.js';

/**
 * Issue #17 in a real Chromium: forms say what is true. A name is checked as it is typed, in the
 * server's words; the new-instance form offers only the Odoo versions whose image is on the host;
 * a "too weak" verdict goes once another password is typed; the test email shows the SMTP server's
 * answer; a repository that could not be cloned points at the job that holds the instance.
 * The in-memory runtime stand-in holds only the Odoo 17 image.
 */
const shots = process.env.FORMS_SHOTS ?? '/work/screens/after';
const memory = new MemoryRuntime({ images: ['odoo:17'] });
let t: TestApp;
let admin: Session;
let baseUrl: string;
let browser: Browser;
let page: Page;
let smtp: SmtpCapture;

async function snap(name: string) {
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, `forms-${name}.png`), fullPage: true });
}

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  t = await createTestApp({}, { runtime: () => memory });
  await t.services.startBackground();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await adminBrowser(t);
  await makeOrganization(as(t, admin), { slug: 'acme', name: 'ACME' });
  smtp = await startSmtpCapture();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15_000);
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await smtp?.stop();
  await t?.close();
});

describe('forms that tell the truth', () => {
  it('check a name as it is typed, stating the rule and what is wrong', async () => {
    await page.goto(`${baseUrl}/instances/new`);
    await page.getByText('Create a new project').click();
    const slug = page.getByLabel('Project slug');
    await slug.fill('ERP_2024 !');
    await snap('name-rule');
    const form = page.locator('form');
    await expect.poll(() => form.textContent()).toContain('"ERP_2024 !" has uppercase letters, "_", a space and "!"');
    await slug.fill('erp-2024');
    await expect.poll(() => form.textContent()).not.toContain('has uppercase letters');
  });

  it('offer only the Odoo versions whose image is on the host, and say what is missing for the others', async () => {
    await page.goto(`${baseUrl}/instances/new`);
    await page.getByText('Create a new project').click();
    const select = page.getByLabel('Odoo version');
    await expect.poll(() => select.inputValue()).toBe('17.0');
    await snap('versions');
    expect(await select.locator('option[value="18.0"]').isDisabled()).toBe(true);
    expect(await select.locator('option[value="17.0"]').isDisabled()).toBe(false);
    const missing = page.getByTestId('versions-unavailable');
    expect(await missing.locator('li[data-version="18.0"]').textContent()).toContain(
      'image odoo:18 not found on host local',
    );
  });

  it('drop a "too weak" verdict once another password is typed', async () => {
    await page.goto(`${baseUrl}/settings?tab=password`);
    await page.getByLabel('Current password').fill(STRONG_PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill('aaaaaaaaaaaa');
    await page.getByLabel('Confirm new password').fill('aaaaaaaaaaaa');
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/me/password'));
    await page.getByRole('button', { name: 'Change password' }).click();
    expect((await answered).status()).toBe(400);
    await page.getByText(/too weak/).waitFor();
    await page.getByLabel('New password', { exact: true }).fill('a much better passphrase 42');
    await snap('password');
    // The verdict was about the old text; only what is true of the new one stays.
    expect(await page.getByText(/too weak/).count()).toBe(0);
    expect(await page.locator('.field-error').allTextContents()).toEqual(['The two passwords differ.']);
  });

  it('send a test email and show what the SMTP server answered', async () => {
    const put = await as(t, admin)('PUT', '/api/v1/settings/smtp', {
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      from: 'Marina <marina@hosting.test>',
    });
    expect(put.statusCode).toBe(200);
    await page.goto(`${baseUrl}/settings?tab=email`);
    await page.getByRole('button', { name: 'Send test email' }).click();
    await page.locator('form[aria-label="Send a test email"] .alert').waitFor();
    await snap('smtp-test');
    const result = page.getByTestId('smtp-test-result');
    expect(await result.textContent()).toMatch(new RegExp(`127\\.0\\.0\\.1:${smtp.port} accepted .* answered 250 `));
    await smtp.waitForMessage((m) => m.to.includes('admin@example.com'));
  });

  it('show why a repository was not cloned, with a link to the job that holds the instance', async () => {
    const api = as(t, admin);
    const { project, instanceId, holdingJobId } = await instanceHeldByAJob(t, api, {
      project: 'addons',
      instance: 'main',
    });
    const added = await api('POST', `/api/v1/projects/${project.id}/repositories`, {
      url: 'https://git.example.test/acme/addons.git',
      branch: '17.0',
    });
    expect(added.statusCode, added.body).toBe(201);

    await page.goto(`${baseUrl}/instances/${instanceId}?tab=repositories`);
    const card = page.locator('[data-testid="repository-card"][data-repository="addons"]');
    await page.getByRole('tabpanel').waitFor();
    await page.waitForTimeout(1500);
    await snap('repository-card');
    await card.waitFor();
    await card.getByTestId('last-update').waitFor();
    const link = card.getByTestId('checkout-job-link');
    expect(await link.getAttribute('href')).toBe(`/jobs/${holdingJobId}`);
  });
});

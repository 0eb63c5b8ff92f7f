import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noticeKeys } from '../../src/platform/notices.js';
import { adminBrowser, createTestApp, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';

/**
 * Settings → Emails sent in Chromium: the list of mails, the editor with its variables, a preview
 * that follows the typing in a sandboxed frame (a script typed into the HTML does not run), a
 * render error with its line, saving (the API then serves the edit), and the outbox's `unknown` row.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const after = '/work/screens/after';
let t: TestApp;
let browser: Browser;
let baseUrl: string;
let webDir: string;
const pageErrors: string[] = [];

async function shoot(page: Page, name: string, target: Locator): Promise<void> {
  await target.scrollIntoViewIfNeeded();
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path });
  await mkdir(after, { recursive: true });
  await copyFile(path, join(after, `${name}.png`));
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-mail-templates-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp({ MARINA_WEB_DIR: webDir });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  await adminBrowser(t);
  // A mail whose connection dropped after DATA: the operator must see it.
  await t.db.transaction().execute((trx) =>
    t.services.notices.enqueue(trx, {
      key: 'resumed',
      to: 'owner@acme.test',
      vars: { organization: 'Acme', portal_url: 'https://marina.test' },
      dedupeKey: 'resumed:e2e',
    }),
  );
  await t.db
    .updateTable('mail_outbox')
    .set({
      status: 'unknown',
      attempts: 1,
      last_error: 'The SMTP server did not answer in time (it may have been delivered: not sent again)',
    })
    .execute();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

describe('Settings → Emails sent', { timeout: 120_000 }, () => {
  it('lists the mails, edits one with a live sandboxed preview, and saves it', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/settings?tab=emails`);
    const list = page.getByLabel('Mail templates');
    await list.locator('[data-template="welcome"]').waitFor();
    // Every mail Marina sends is listed.
    expect(await list.locator('tbody tr').count()).toBe(noticeKeys.length);
    const outbox = page.getByRole('table', { name: 'Recent emails' });
    await outbox.locator('[data-status="unknown"]').getByText('not sent again').waitFor();
    await shoot(page, 'D-mail-templates-list', page.getByRole('tab', { name: 'Emails sent' }));

    await list.locator('[data-template="welcome"]').click();
    const editor = page.getByLabel('Edit the Welcome email');
    await editor.getByTestId('mail-variables').getByText('{{ credentials_url }}').waitFor();
    // The preview renders the default with the sample values.
    await expect
      .poll(() => editor.getByTestId('preview-subject').textContent())
      .toBe('[Marina] Acme Corp: your Odoo is ready');
    const frame = editor.locator('iframe.mail-preview-frame');
    expect(await frame.getAttribute('sandbox')).toBe('');

    // A script typed into the HTML stays inert in the sandboxed frame; values are escaped.
    const title = await page.title();
    await editor.getByLabel('Subject').fill('Welcome aboard, {{ organization }}');
    await editor
      .getByLabel('HTML', { exact: true })
      .fill(
        '<h1 id="hello">Hello {{ organization }}</h1>\n<script>parent.document.title = "script ran"; document.getElementById("hello").textContent = "script ran"</script>\n<p><a href="{{ credentials_url }}">Your credentials</a></p>',
      );
    await expect.poll(() => editor.getByTestId('preview-subject').textContent()).toBe('Welcome aboard, Acme Corp');
    const inside = page.frameLocator('iframe.mail-preview-frame');
    await expect.poll(() => inside.locator('#hello').textContent()).toBe('Hello Acme Corp');
    expect(await page.title()).toBe(title);

    // An unknown variable: the error names the line and column, and nothing is saved.
    await editor.getByLabel('Text', { exact: true }).fill('Hello\n{{ pasword }}');
    const problem = editor
      .getByRole('alert')
      .filter({ hasText: /The text does not render \(line 2, column 4\).*pasword/ });
    await problem.waitFor();
    await editor.getByRole('button', { name: 'Save en' }).click();
    await expect.poll(() => problem.count()).toBe(1);
    expect(await t.db.selectFrom('mail_templates').selectAll().execute()).toEqual([]);
    await shoot(page, 'D-mail-template-error', problem);

    await editor
      .getByLabel('Text', { exact: true })
      .fill('Welcome aboard, {{ organization }}.\n\nYour credentials: {{ credentials_url }}\n');
    await expect.poll(() => problem.count()).toBe(0);
    await editor.getByRole('tab', { name: 'Text' }).click();
    await expect
      .poll(() => editor.getByTestId('preview-text').textContent())
      .toContain('Your credentials: https://marina.example.com/credentials#token=abc');
    await editor.getByRole('tab', { name: 'HTML' }).click();
    await editor.getByRole('button', { name: 'Save en' }).click();
    await editor.getByText('edited', { exact: true }).waitFor();
    const saved = await t.services.mailTemplates.resolve('welcome', 'en');
    expect(saved.subject).toBe('Welcome aboard, {{ organization }}');
    await inside.locator('#hello').waitFor();
    await shoot(page, 'D-mail-template-editor', editor);

    // Back to the default.
    await editor.getByRole('button', { name: 'Back to the default' }).click();
    await page.getByRole('button', { name: 'Remove my version' }).click();
    await editor.getByText('default', { exact: true }).waitFor();
    expect((await t.services.mailTemplates.resolve('welcome', 'en')).subject).toBe(
      '[Marina] {{ organization }}: your Odoo is ready',
    );
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('edits at phone width without sideways scrolling', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'en-US',
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/settings?tab=emails&template=password_reset&locale=en`);
    const editor = page.getByLabel('Edit the Password reset email');
    await expect.poll(() => editor.getByTestId('preview-subject').textContent()).toBe('[Marina] Reset your password');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shoot(page, 'D-mail-template-editor-390', editor.getByTestId('preview-subject'));
    await context.close();
  });
});

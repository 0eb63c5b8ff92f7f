import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../src/platform/context.js';
import { as, memberBrowser, type Browser as Session, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';
import { removeNamespace, requireDocker, startDockerMarina, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { makeProject, requestInstance } from '../helpers/factories.js';
import { followJob } from '../helpers/jobs.js';
import { rpcLogin } from '../helpers/odoo.js';
import { links, type SmtpCapture, startSmtpCapture } from '../helpers/smtp-capture.js';

/**
 * What the clone's result and "Reveal credentials" say about signing in to a copy, in a real
 * Chromium against the Odoo STAND-IN (which checks passwords against Odoo's hashes): every login
 * and password the page shows is tried on the instance.
 */
const shots = process.env.MARINA_SHOTS ?? '/tmp/marina-shots';
const fixtureZip = join(
  process.env.MARINA_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures'),
  'odoo-backups',
  'odoo17-database-manager.zip',
);
const JOB_TIMEOUT = 180_000;

const namespace = testNamespace();
let t: TestApp;
let admin: Session;
let baseUrl: string;
let headers: Record<string, string>;
let production: { id: string; name: string; url: string; dbName: string };
let productionPassword: string;
let browser: Browser;
let page: Page;
let smtp: SmtpCapture;

async function snap(name: string) {
  for (const dismiss of await page.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all())
    await dismiss.click().catch(() => undefined);
  await page.screenshot({ path: join(shots, `credentials-${name}.png`), fullPage: true });
}

const field = (scope: ReturnType<Page['getByRole']>, label: string) => scope.getByLabel(label, { exact: true });

beforeAll(async () => {
  await requireDocker();
  await mkdir(shots, { recursive: true });
  smtp = await startSmtpCapture();
  const marina = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  ({ t, admin, baseUrl, headers } = marina);
  await t.services.settings.setSmtp(systemContext('test'), {
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: null,
    password: null,
  });
  const call = as(t, admin);
  const project = await makeProject(call, { name: 'erp' });
  const made = await requestInstance(call, { project: project.id, name: 'prod', stage: 'production' });
  const { job } = await followJob(baseUrl, headers, made.job.id, JOB_TIMEOUT);
  expect(job.status).toBe('succeeded');
  production = (await call('GET', `/api/v1/instances/${made.instance.id}`)).json().instance;
  productionPassword = made.credentials.password;
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  page.setDefaultTimeout(15_000);
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await smtp?.stop();
  await removeNamespace(namespace);
}, 120_000);

describe('credentials of copies in the web UI', () => {
  it(
    "the clone's result says the copy has the source's users, and the password it shows logs in; a reset gives one that logs in",
    async () => {
      await page.goto(`${baseUrl}/instances/${production.id}/clone`);
      await page.getByRole('heading', { name: 'Clone an instance' }).waitFor();
      await page.getByRole('radio', { name: 'A new instance' }).check();
      await page.getByLabel('Instance name').fill('staging');
      await page.getByRole('button', { name: 'Clone into a new instance' }).click();
      const card = page.locator('[data-testid="inline-job"][data-job-kind="instance.clone"]');
      await expect.poll(async () => card.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      const signing = page.getByRole('region', { name: 'Signing in to the copy' });
      await signing.waitFor({ timeout: 10_000 }).catch(() => undefined);
      await snap('clone-result');
      await expect(signing.getByTestId('copy-credentials-origin').textContent()).resolves.toMatch(
        /^Same users and passwords as production \(erp\/prod\) at .+: the users were copied\.$/,
      );
      const staging = (await as(t, admin)('GET', '/api/v1/instances'))
        .json()
        .instances.find((i: { name: string }) => i.name === 'staging');
      await signing.getByRole('link', { name: staging.url }).waitFor();

      // "Reveal credentials" on the copy: production's login and password, which open the copy.
      await page.goto(`${baseUrl}/instances/${staging.id}`);
      await page.getByRole('button', { name: 'Reveal credentials' }).click();
      const dialog = page.getByRole('dialog', { name: 'Instance credentials' });
      await field(dialog, 'Administrator login').waitFor();
      await snap('panel-clone');
      const login = await field(dialog, 'Administrator login').inputValue();
      const password = await field(dialog, 'Administrator password').inputValue();
      expect(login).toBe('o@acme.test');
      expect(password).toBe(productionPassword);
      expect((await rpcLogin(staging.url, staging.dbName, login, password)).result?.uid).toBe(2);
      await dialog.getByTestId('credentials-origin').getByText('Same users and passwords as erp/prod').waitFor();

      // Reset: asked first, then the new password is shown, and it logs in.
      await dialog.getByRole('button', { name: 'Reset admin password' }).click();
      await dialog.getByRole('button', { name: 'Reset the password' }).click();
      await dialog.getByText('New password set').waitFor();
      const fresh = await field(dialog, 'Administrator password').inputValue();
      expect(fresh).not.toBe(productionPassword);
      await snap('panel-reset');
      expect((await rpcLogin(staging.url, staging.dbName, login, fresh)).result?.uid).toBe(2);
      expect((await rpcLogin(staging.url, staging.dbName, login, password)).result).toBeUndefined();
      await dialog.locator('.form-actions').getByRole('button', { name: 'Close' }).click();
    },
    JOB_TIMEOUT + 60_000,
  );

  it.skipIf(!existsSync(fixtureZip))(
    'after an import, "Reveal credentials" shows the database\'s own administrator and says it does not know the password',
    async () => {
      const projectId = (await as(t, admin)('GET', `/api/v1/instances/${production.id}`)).json().instance.projectId;
      const imported = await fetch(
        `${baseUrl}/api/v1/imports?project=${projectId}&name=imported&stage=staging&adminLogin=dev%40acme.test`,
        {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/zip' },
          body: await readFile(fixtureZip),
        },
      );
      const answer = (await imported.json()) as { job: { id: string }; instance: { id: string } };
      expect(imported.status, JSON.stringify(answer)).toBe(202);
      const { job, logs } = await followJob(baseUrl, headers, answer.job.id, JOB_TIMEOUT);
      expect(job.status, `${JSON.stringify(job.error)}\n${logs.slice(-20).join('\n')}`).toBe('succeeded');
      const copy = (await as(t, admin)('GET', `/api/v1/instances/${answer.instance.id}`)).json().instance;

      await page.goto(`${baseUrl}/instances/${copy.id}`);
      const revealButton = page.getByRole('button', { name: 'Reveal credentials' });
      await revealButton.waitFor({ timeout: 30_000 }).catch(async () => {
        // Seen once under load: the page had not answered yet. Say what it showed, then try again.
        await snap('import-page-not-ready');
        await page.reload();
      });
      await revealButton.click({ timeout: 30_000 });
      const dialog = page.getByRole('dialog', { name: 'Instance credentials' });
      await field(dialog, 'Administrator login').waitFor();
      await snap('panel-import');
      const login = await field(dialog, 'Administrator login').inputValue();
      expect(login).toBe('admin');
      await dialog.getByText('Marina does not know this password').waitFor();
      expect(await field(dialog, 'Administrator password').count()).toBe(0);
      // The login shown is the database's: with the file's own password (admin) it logs in.
      expect((await rpcLogin(copy.url, copy.dbName, login, 'admin')).result?.uid).toBe(2);
    },
    JOB_TIMEOUT + 60_000,
  );
});

/** Screenshots of "Send access" and the credentials link's page (also kept for the review). */
async function shot(on: Page, name: string) {
  const path = join(screenshots, `L-${name}.png`);
  await on.screenshot({ path, fullPage: true });
  if (existsSync('/work/screens/after')) await copyFile(path, `/work/screens/after/L-${name}.png`);
}

describe('send access and the credentials link in the web UI', () => {
  it('an admin sends access to a member; the member signs in from the mailed link, sees a password that logs in, once', async () => {
    await memberBrowser(t, admin, 'acme', 'viewer@acme.test', 'viewer');
    await page.goto(`${baseUrl}/instances/${production.id}`);
    await page.getByRole('button', { name: 'Send access' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send access' });
    const viewerOption = dialog.locator('option', { hasText: 'viewer@acme.test' });
    expect(await viewerOption.textContent()).toMatch(/viewer@acme\.test>? · viewer$/);
    await dialog.getByLabel('Member').selectOption((await viewerOption.getAttribute('value')) ?? '');
    await shot(page, 'send-access-modal');
    await dialog.getByRole('button', { name: 'Send access' }).click();
    await page.getByText('Access to prod sent to viewer@acme.test.').waitFor();
    await shot(page, 'send-access-sent');

    await t.services.notices.drain();
    const mail = await smtp.waitForMessage(
      (m) => m.to.includes('viewer@acme.test') && m.subject.startsWith('[Marina] Access'),
    );
    expect(mail.subject).toBe('[Marina] Access to prod (ACME)');
    const link = links(mail).find((l) => l.includes('/credentials#token='));
    expect(link, mail.body).toBeDefined();
    expect(link?.startsWith(`${t.config.publicUrl}/credentials#token=`)).toBe(true);
    expect(links(mail)).toContain(production.url);
    // This Marina listens on a port chosen at start: the link's path and token, on its address.
    const url = `${baseUrl}/credentials${new URL(link as string).hash}`;

    // The member, in their own browser and not signed in: first the sign-in page, then back.
    const member = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    member.setDefaultTimeout(15_000);
    await member.goto(url);
    await member.waitForURL(`${baseUrl}/login`);
    await member.getByText('Sign in with the account the link was sent to').waitFor();
    await shot(member, 'sign-in-first');
    await member.getByLabel('Email').fill('viewer@acme.test');
    await member.getByLabel('Password').fill(STRONG_PASSWORD);
    await member.getByRole('button', { name: 'Sign in' }).click();
    const opened = member.getByTestId('credentials-link-opened');
    await opened.waitFor();
    await member.getByText('this page will not show it again').waitFor();
    const login = await opened.getByLabel('Administrator login', { exact: true }).inputValue();
    const password = await opened.getByLabel('Administrator password', { exact: true }).inputValue();
    expect(await opened.getByLabel('Instance address', { exact: true }).inputValue()).toBe(production.url);
    expect(password).toBe(productionPassword);
    expect((await rpcLogin(production.url, production.dbName, login, password)).result?.uid).toBe(2);
    // The spent token left the address bar.
    expect(member.url()).toBe(`${baseUrl}/credentials`);
    await shot(member, 'credentials-shown');

    // The same link again: refused, with a way on.
    await member.goto(url);
    const refused = member.getByTestId('credentials-link-refused');
    await refused.getByText('This link was already used or has expired.').waitFor();
    expect(await member.getByLabel('Administrator password', { exact: true }).count()).toBe(0);
    await refused.getByRole('link', { name: 'Go to your instances' }).waitFor();
    await shot(member, 'credentials-refused');
    await member.context().close();
  }, 120_000);
});

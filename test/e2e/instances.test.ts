import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, createTestApp, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import { randomPortRange, removeNamespace, requireDocker, TEST_IMAGES, testNamespace } from '../helpers/docker.js';

/**
 * The instance screens in a real browser against the real Docker engine, PostgreSQL container and
 * Marina's Odoo STAND-IN: wizard with live progress, instance page, lifecycle actions, jobs.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const screenshots = join(root, 'test-results', 'screenshots');
const STEP_TIMEOUT = 60_000;

const namespace = testNamespace();
let t: TestApp;
let browser: Browser;
let page: Page;
let baseUrl: string;
let instancePath: string;
const pageErrors: string[] = [];

async function snap(name: string): Promise<void> {
  for (const dismiss of await page.getByRole('button', { name: 'Dismiss' }).all()) {
    await dismiss.click().catch(() => undefined);
  }
  // Sticky bars are drawn where the window scrolled to: take full pages from the top.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label });
const statusBadge = () => page.locator('.page-header').getByTestId('instance-status');

beforeAll(async () => {
  await requireDocker();
  t = await createTestApp({
    MARINA_NAMESPACE: namespace,
    MARINA_POSTGRES_IMAGE: TEST_IMAGES.postgres,
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    // An image that exists but has no `odoo` command: initialization fails for real.
    MARINA_ODOO_16_IMAGE: TEST_IMAGES.postgres,
    MARINA_INSTANCE_BIND: '127.0.0.1',
    MARINA_INSTANCE_PORTS: randomPortRange(),
  });
  await t.services.startBackground();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const admin = await adminBrowser(t);
  const org = await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
  expect(org.statusCode).toBe(201);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
}, 120_000);

describe('instances in the web UI', () => {
  it(
    'signs in and shows the empty, live instance list',
    async () => {
      await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);

      await nav('Instances').click();
      await page.waitForURL(`${baseUrl}/instances`);
      await page.getByRole('heading', { name: 'No instances yet' }).waitFor();
      await page.getByTestId('live-indicator').getByText('Live').waitFor();
      await snap('i-01-list-empty');
    },
    STEP_TIMEOUT,
  );

  it(
    'creates a project inline and a staging instance, and follows the progress until Ready',
    async () => {
      await page.getByRole('link', { name: 'New instance' }).first().click();
      await page.waitForURL(`${baseUrl}/instances/new`);
      await page.getByRole('radio', { name: 'Create a new project' }).check();
      await page.getByLabel('Organization', { exact: true }).selectOption({ label: 'ACME' });
      await page.getByLabel('Odoo version').selectOption('17.0');
      await page.getByLabel('Display name').fill('ACME ERP');
      expect(await page.getByLabel('Project slug').inputValue()).toBe('acme-erp');
      await snap('i-02-wizard-project');
      await page.getByRole('button', { name: 'Create project and continue' }).click();

      await page.getByLabel('Instance name').fill('staging');
      await page.getByRole('radio', { name: 'Staging' }).check();
      await page.getByRole('radio', { name: 'Medium' }).check();
      expect(await page.getByLabel('Administrator login').inputValue()).toBe('admin@example.com');
      await page.getByLabel('Language').selectOption('fr_BE');
      await page.getByLabel('Country').fill('be');
      await snap('i-03-wizard-instance');

      // Every value the bar shows, sampled in the page: the bar must move through the steps.
      // (A string: the test's TypeScript has no DOM types.)
      await page.evaluate(`(() => {
        const seen = [];
        window.progressSeen = seen;
        window.setInterval(() => {
          const bar = document.querySelector('[data-testid="job-progress"]');
          if (!bar) return;
          const value = Number(bar.getAttribute('aria-valuenow'));
          if (seen.at(-1) !== value) seen.push(value);
        }, 20);
      })()`);
      await page.getByRole('button', { name: 'Create instance' }).click();

      const bar = page.getByRole('progressbar', { name: 'Provisioning progress' });
      await bar.waitFor();
      await page.getByRole('list', { name: 'Steps' }).getByText('Creating the database').waitFor();
      await expect
        .poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: STEP_TIMEOUT })
        .toBeGreaterThan(0);
      await snap('i-04-wizard-progress');

      await page.getByRole('heading', { name: 'Ready' }).waitFor({ timeout: STEP_TIMEOUT });
      expect(await bar.getAttribute('aria-valuenow')).toBe('100');
      const seen = (await page.evaluate('window.progressSeen')) as number[];
      expect(seen.some((v) => v > 0 && v < 100)).toBe(true);
      expect(seen.at(-1)).toBe(100);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] ?? 0);

      const url = await page.getByTestId('instance-url').textContent();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await page.getByLabel('Administrator login').inputValue()).toBe('admin@example.com');
      expect((await page.getByLabel('Administrator password').inputValue()).length).toBeGreaterThanOrEqual(16);
      const steps = page.getByRole('list', { name: 'Steps' }).getByRole('listitem');
      expect(await steps.count()).toBe(7);
      for (const step of await steps.all()) expect(await step.getAttribute('data-status')).toBe('done');
      await snap('i-05-wizard-ready');
    },
    STEP_TIMEOUT * 2,
  );

  it(
    'lists the running instance with its usage',
    async () => {
      await nav('Instances').click();
      await page.waitForURL(`${baseUrl}/instances`);
      const row = page.getByRole('table', { name: 'Instances' }).locator('tr[data-instance="staging"]');
      await row.getByTestId('instance-status').and(page.locator('[data-status="running"]')).waitFor();
      // The project was created a moment ago: the list learns its name once it reloads its projects.
      await row.getByText('ACME ERP').waitFor();
      expect(await row.textContent()).toContain('Staging');
      expect(await row.textContent()).toContain('2 CPU · 4 GB');
      await row.getByText('CPU', { exact: true }).waitFor({ timeout: 20_000 });
      await snap('i-06-list');
      await row.getByRole('link', { name: 'staging', exact: true }).click();
      await page.waitForURL(/\/instances\/[0-9a-f-]{36}$/);
      instancePath = new URL(page.url()).pathname;
    },
    STEP_TIMEOUT,
  );

  it(
    'shows the instance page with status and live stats',
    async () => {
      await page.getByRole('heading', { name: /staging/ }).waitFor();
      await expect.poll(async () => statusBadge().getAttribute('data-status')).toBe('running');
      const cpu = page.getByTestId('stat-cpu');
      await expect.poll(async () => cpu.textContent(), { timeout: 20_000 }).toMatch(/\d %/);
      await expect
        .poll(async () => page.getByTestId('stat-database').textContent(), { timeout: 20_000 })
        .toMatch(/\d+(\.\d+)? (B|KB|MB|GB)/);
      expect(await page.getByRole('progressbar', { name: 'Memory used' }).count()).toBe(1);
      await page.getByRole('table', { name: 'Recent jobs' }).getByText('Create instance').waitFor();
      await snap('i-07-instance');

      await page.getByRole('button', { name: 'Reveal credentials' }).click();
      const dialog = page.getByRole('dialog', { name: 'Instance credentials' });
      expect((await dialog.getByLabel('Master password').inputValue()).length).toBeGreaterThan(10);
      await dialog.getByRole('button', { name: 'Close', exact: true }).first().click();
      await dialog.waitFor({ state: 'detached' });
    },
    STEP_TIMEOUT,
  );

  it(
    'stops the instance, the list follows live, and starts it again',
    async () => {
      // A second tab on the list: it must learn about the stop without reloading.
      const listPage = await page.context().newPage();
      listPage.on('pageerror', (error) => pageErrors.push(error.message));
      await listPage.goto(`${baseUrl}/instances`);
      const listRow = listPage.locator('tr[data-instance="staging"]');
      await listRow.locator('[data-status="running"]').waitFor();
      await listPage.getByTestId('live-indicator').getByText('Live').waitFor();

      await page.getByRole('button', { name: 'Stop', exact: true }).click();
      const stop = page.getByRole('dialog', { name: 'Stop staging?' });
      await stop.getByRole('button', { name: 'Stop instance' }).click();
      await page.getByRole('progressbar', { name: 'Action progress' }).waitFor();
      await expect
        .poll(async () => statusBadge().getAttribute('data-status'), { timeout: STEP_TIMEOUT })
        .toBe('stopped');
      await listRow.locator('[data-status="stopped"]').waitFor({ timeout: STEP_TIMEOUT });
      await listPage.close();
      await page.getByRole('button', { name: 'Start', exact: true }).and(page.locator(':enabled')).waitFor();
      await snap('i-08-instance-stopped');

      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page
        .getByRole('dialog', { name: 'Start staging?' })
        .getByRole('button', { name: 'Start instance' })
        .click();
      await expect
        .poll(async () => statusBadge().getAttribute('data-status'), { timeout: STEP_TIMEOUT })
        .toBe('running');
      await page.getByRole('button', { name: 'Stop', exact: true }).and(page.locator(':enabled')).waitFor();
    },
    STEP_TIMEOUT * 2,
  );

  it(
    'lists the jobs and shows one with its steps and log',
    async () => {
      await nav('Jobs').click();
      await page.waitForURL(`${baseUrl}/jobs`);
      const table = page.getByRole('table', { name: 'Jobs', exact: true });
      await table
        .locator('tr[data-job-kind="instance.start"]')
        .getByTestId('job-status')
        .getByText('succeeded')
        .waitFor({
          timeout: 20_000,
        });
      for (const kind of ['instance.provision', 'instance.stop', 'instance.start']) {
        const row = table.locator(`tr[data-job-kind="${kind}"]`);
        await expect.poll(async () => row.count()).toBe(1);
        expect(await row.getByTestId('job-status').textContent()).toBe('succeeded');
        expect(await row.textContent()).toContain('acme-erp/staging');
      }
      await snap('i-09-jobs');

      await table.getByRole('link', { name: 'Create instance' }).click();
      await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
      await page.getByRole('heading', { name: /Create instance/ }).waitFor();
      expect(await page.getByRole('progressbar', { name: 'Job progress' }).getAttribute('aria-valuenow')).toBe('100');
      const steps = page.getByRole('list', { name: 'Steps' });
      await steps.getByText('Installing Odoo (base)').waitFor();
      await steps.getByText('Waiting until Odoo answers').waitFor();
      await expect.poll(async () => page.getByTestId('job-log').locator('.log-line').count()).toBeGreaterThan(0);
      await snap('i-10-job');
    },
    STEP_TIMEOUT,
  );

  it(
    'shows the Docker hosts to a platform admin',
    async () => {
      await nav('Settings').click();
      await page.getByRole('tab', { name: 'Hosts' }).click();
      const row = page.getByRole('table', { name: 'Hosts' }).getByRole('row').filter({ hasText: 'local' });
      await row.getByText('reachable').waitFor();
      await snap('i-11-hosts');
    },
    STEP_TIMEOUT,
  );

  it(
    'deletes the instance and lands on the list without it',
    async () => {
      await page.goto(`${baseUrl}${instancePath}`);
      await expect.poll(async () => statusBadge().getAttribute('data-status')).toBe('running');
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete staging?' });
      await dialog.getByRole('button', { name: 'Delete instance' }).click();
      await page.waitForURL(`${baseUrl}/instances`, { timeout: STEP_TIMEOUT });
      await page.getByRole('heading', { name: 'No instances yet' }).waitFor();
      expect(await page.locator('tr[data-instance="staging"]').count()).toBe(0);
      await snap('i-12-list-after-delete');
    },
    STEP_TIMEOUT,
  );

  it(
    'shows where a failed provisioning stopped and why',
    async () => {
      await page.getByRole('link', { name: 'New instance' }).first().click();
      await page.getByRole('radio', { name: 'Create a new project' }).check();
      await page.getByLabel('Odoo version').selectOption('16.0');
      await page.getByLabel('Display name').fill('Legacy');
      await page.getByRole('button', { name: 'Create project and continue' }).click();
      await page.getByLabel('Instance name').fill('broken');
      await page.getByRole('radio', { name: 'Development' }).check();
      await page.getByRole('button', { name: 'Create instance' }).click();

      await page.getByRole('heading', { name: 'Creating broken failed' }).waitFor({ timeout: STEP_TIMEOUT });
      const failed = page.getByRole('list', { name: 'Steps' }).locator('li[data-status="failed"]');
      expect(await failed.getAttribute('data-step')).toBe('initialize');
      const error = page.getByRole('alert').filter({ hasText: 'failed at “Installing Odoo (base)”' });
      await error.waitFor();
      await error.getByRole('link', { name: 'Open the job and its full log' }).waitFor();
      expect(
        await page.getByRole('progressbar', { name: 'Provisioning progress' }).getAttribute('aria-valuenow'),
      ).not.toBe('100');
      await snap('i-13-wizard-failed');
      expect(pageErrors).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});

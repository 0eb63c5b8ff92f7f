import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser as Session, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import { removeNamespace, requireDocker, startDockerMarina, TEST_IMAGES, testNamespace } from '../helpers/docker.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from '../helpers/factories.js';
import { followJob } from '../helpers/jobs.js';

/**
 * A project's page in a real Chromium, against the real Docker engine and PostgreSQL with Marina's
 * Odoo STAND-IN: production, staging and development side by side, "New staging from production"
 * through the clone flow, "New development instance", and the door closed to other organizations.
 */
const shots = process.env.MARINA_SHOTS ?? '/tmp/marina-shots';
const STEP_TIMEOUT = 60_000;
const JOB_TIMEOUT = 180_000;

const namespace = testNamespace();
let t: TestApp;
let admin: Session;
let baseUrl: string;
let headers: Record<string, string>;
let project: { id: string; name: string };
let production: { id: string; name: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

async function snap(name: string, target: Page = page) {
  for (const dismiss of await target.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all()) {
    await dismiss.click().catch(() => undefined);
  }
  await target.evaluate('window.scrollTo(0, 0)');
  await target.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

const stage = (name: 'Production' | 'Staging' | 'Development') => page.getByRole('region', { name, exact: true });

beforeAll(async () => {
  await requireDocker();
  await mkdir(shots, { recursive: true });
  const marina = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  ({ t, admin, baseUrl, headers } = marina);
  const call = as(t, admin);
  project = await makeProject(call, { name: 'erp' });
  const created = await requestInstance(call, { project: project.id, name: 'prod', stage: 'production' });
  const provisioned = await followJob(baseUrl, headers, created.job.id);
  expect(provisioned.job.status).toBe('succeeded');
  production = created.instance;
  // A backup of production, for its "last backup".
  const backup = await call('POST', `/api/v1/instances/${production.id}/backups`, { format: 'native' });
  expect(backup.statusCode, backup.body).toBe(202);
  expect((await followJob(baseUrl, headers, backup.json<{ job: { id: string } }>().job.id)).job.status).toBe(
    'succeeded',
  );
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
}, 120_000);

describe("a project's page", () => {
  it(
    'opens from the organization and from the instances list, with the three stages side by side',
    async () => {
      await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
      // The organization lists its projects, each a link to its page.
      await page.goto(`${baseUrl}/organizations/acme`);
      const projects = page.getByRole('table', { name: 'Projects' });
      // Name, version, then how many instances each stage has (production, staging, development).
      await expect.poll(() => projects.locator('tr[data-project="erp"]').textContent()).toBe('erp17.0100');
      await snap('project-organization-page');
      await projects.getByRole('link', { name: 'erp' }).click();
      await page.waitForURL(`${baseUrl}/projects/${project.id}`);
      // So does the project's name in the list of instances.
      await page.goto(`${baseUrl}/instances`);
      const row = page.locator('tr[data-instance="prod"]');
      await row.getByRole('link', { name: 'erp' }).click();
      await page.waitForURL(`${baseUrl}/projects/${project.id}`);
      await page.getByRole('heading', { name: 'erp', level: 1 }).waitFor();

      // Side by side: three columns on one line at 1440 px.
      const boxes = await Promise.all(
        (['Production', 'Staging', 'Development'] as const).map(async (name) => stage(name).boundingBox()),
      );
      expect(boxes.every((b) => b !== null)).toBe(true);
      const [p, s, d] = boxes as { x: number; y: number }[];
      expect(p?.y).toBe(s?.y);
      expect(s?.y).toBe(d?.y);
      expect((p?.x ?? 0) < (s?.x ?? 0) && (s?.x ?? 0) < (d?.x ?? 0)).toBe(true);

      // Production holds prod: its status, version, URL and last backup.
      const card = stage('Production').locator('[data-instance="prod"]');
      await expect.poll(async () => card.getByTestId('instance-status').getAttribute('data-status')).toBe('running');
      expect(await card.textContent()).toContain('17.0');
      const { url } = (await as(t, admin)('GET', `/api/v1/instances/${production.id}`)).json().instance;
      expect(url).toBeTruthy();
      expect(await card.locator('a.external-link').getAttribute('href')).toBe(url);
      const last = card.getByTestId('last-backup');
      expect(await last.getAttribute('data-status')).toBe('completed');
      expect(await last.textContent()).toMatch(/ago|now/);
      await stage('Staging').getByText('No staging instance yet.').waitFor();
      await stage('Development').getByText('No development instance yet.').waitFor();
      await snap('project-page');

      // "Open" leads to the instance.
      expect(await card.getByRole('link', { name: 'Open', exact: true }).getAttribute('href')).toBe(
        `/instances/${production.id}`,
      );
    },
    STEP_TIMEOUT,
  );

  it(
    'makes a new staging from production through the clone flow, prefilled, and shows it in Staging',
    async () => {
      await stage('Staging').getByRole('link', { name: 'New staging from production' }).click();
      await page.waitForURL(new RegExp(`/instances/${production.id}/clone\\?`));
      expect(await page.getByRole('radio', { name: 'A new instance' }).isChecked()).toBe(true);
      expect(await page.getByLabel('Instance name').inputValue()).toBe('staging');
      expect(await page.getByLabel('Stage').inputValue()).toBe('staging');
      await page.getByText('Created by the clone').waitFor();
      await snap('project-new-staging');
      await page.getByRole('button', { name: 'Clone into a new instance' }).click();
      const job = page.locator('[data-testid="inline-job"][data-job-kind="instance.clone"]');
      await expect.poll(async () => job.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');

      await page.goto(`${baseUrl}/projects/${project.id}`);
      const staging = stage('Staging').locator('[data-instance="staging"]');
      await expect
        .poll(async () => staging.getByTestId('instance-status').getAttribute('data-status'), { timeout: 30_000 })
        .toBe('running');
      expect(await stage('Production').locator('[data-instance="staging"]').count()).toBe(0);
      await snap('project-with-staging');
    },
    JOB_TIMEOUT,
  );

  it(
    'offers a new development instance: the form opens on this project, stage Development, a free name',
    async () => {
      await stage('Development').getByRole('link', { name: 'New development instance' }).click();
      await page.waitForURL(/\/instances\/new\?/);
      await page.getByLabel('Instance name').waitFor();
      expect(await page.getByLabel('Instance name').inputValue()).toBe('dev');
      expect(await page.getByRole('radio', { name: /Development/ }).isChecked()).toBe(true);
      await snap('project-new-development');
    },
    STEP_TIMEOUT,
  );

  it(
    'is not found for the admin of another organization',
    async () => {
      await makeOrganizationWithAdmin(t, admin, { slug: 'globex', email: 'admin@globex.test' });
      const other = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      const stranger = await other.newPage();
      await signInPage(stranger, baseUrl, 'admin@globex.test', STRONG_PASSWORD);
      await stranger.goto(`${baseUrl}/projects/${project.id}`);
      await stranger.getByText('This project cannot be shown').waitFor();
      expect(await stranger.getByText('prod').count()).toBe(0);
      await other.close();
      expect(pageErrors).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, type Browser as Session, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import {
  provisionInstance,
  removeNamespace,
  requireDocker,
  startDockerMarina,
  TEST_IMAGES,
  testNamespace,
} from '../helpers/docker.js';

/**
 * Backups, restores, imports and clones in a real Chromium, against the real Docker engine and
 * PostgreSQL with Marina's Odoo STAND-IN: the Backups tab, its modals and progress bars, the
 * import page with its upload progress, the clone page's database cards, and instances found by
 * name (never from the whole instance list).
 */
const shots = process.env.MARINA_SHOTS ?? '/tmp/marina-shots';
const fixtures = process.env.MARINA_FIXTURES ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures');
const fixtureZip = join(fixtures, 'odoo-backups', 'odoo17-database-manager.zip');
const haveFixture = existsSync(fixtureZip);
const STEP_TIMEOUT = 60_000;
const JOB_TIMEOUT = 180_000;

const namespace = testNamespace();
let t: TestApp;
let admin: Session;
let baseUrl: string;
let backupsDir: string;
let instance: { id: string; name: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let nativeBackupId: string;
const pageErrors: string[] = [];
/** Every instance list the browser asked for: its query, and the page it was on. */
const instanceLists: { query: URLSearchParams; on: string }[] = [];

async function snap(name: string, { fullPage = true, target = page }: { fullPage?: boolean; target?: Page } = {}) {
  // Toasts would cover the page (job cards keep their own Dismiss buttons).
  for (const dismiss of await target.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all()) {
    await dismiss.click().catch(() => undefined);
  }
  // Sticky bars are drawn where the window scrolled to: take full pages from the top.
  await target.evaluate('window.scrollTo(0, 0)');
  const path = join(shots, `${name}.png`);
  await target.screenshot({ path, fullPage });
  return path;
}

const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label });
const backupsTable = () => page.getByRole('table', { name: 'Backups', exact: true });
const jobCard = (kind: string) => page.locator(`[data-testid="inline-job"][data-job-kind="${kind}"]`);

/** Every value a progress bar shows, sampled in the page (a string: the test has no DOM types). */
async function sampleBar(testId: string): Promise<void> {
  await page.evaluate(`(() => {
    const seen = [];
    window.barSeen = seen;
    window.setInterval(() => {
      const bar = document.querySelector('[data-testid="${testId}"]');
      if (!bar) return;
      const value = Number(bar.getAttribute('aria-valuenow'));
      if (seen.at(-1) !== value) seen.push(value);
    }, 15);
  })()`);
}

beforeAll(async () => {
  await requireDocker();
  if (!haveFixture)
    console.warn(
      `\n!!! ${fixtureZip} is missing: the import step of backups-ui.test.ts is SKIPPED. Set MARINA_FIXTURES to the folder holding odoo-backups/.\n`,
    );
  await mkdir(shots, { recursive: true });
  backupsDir = await mkdtemp(join(tmpdir(), 'marina-backups-ui-'));
  const marina = await startDockerMarina(namespace, {
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_BACKUPS_DIR: backupsDir,
  });
  ({ t, admin, baseUrl } = marina);
  ({ instance } = await provisionInstance(marina, { project: 'erp', name: 'main' }));
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === '/api/v1/instances')
      instanceLists.push({ query: url.searchParams, on: new URL(page.url()).pathname });
  });
}, 240_000);

const matches = () => page.getByRole('listbox', { name: 'Matching instances' });

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
  if (backupsDir) await rm(backupsDir, { recursive: true, force: true });
}, 120_000);

describe('backups in the web UI', () => {
  it(
    'signs in and opens the empty Backups tab of the instance',
    async () => {
      await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);

      expect(await nav('Backups').textContent()).not.toContain('Soon');
      await page.goto(`${baseUrl}/instances/${instance.id}`);
      await page.getByRole('tab', { name: 'Backups' }).click();
      await page.waitForURL(/\?tab=backups$/);
      await page.getByRole('heading', { name: 'No backups yet' }).waitFor();
      await snap('b-00-backups-tab-empty');
    },
    STEP_TIMEOUT,
  );

  it(
    'makes a native backup through the modal, with a progress bar, until it is completed',
    async () => {
      await page.getByRole('button', { name: 'Back up now' }).first().click();
      const dialog = page.getByRole('dialog', { name: 'Back up now' });
      await dialog.getByText("restorable in Odoo's database manager").waitFor();
      await dialog.getByText("Marina's fast format").waitFor();
      expect(await dialog.getByRole('radio', { name: 'Full' }).isChecked()).toBe(true);
      expect(await dialog.getByRole('radio', { name: 'Odoo zip' }).isChecked()).toBe(true);
      await dialog.getByRole('radio', { name: 'Native' }).check();
      await snap('b-01-backup-modal', { fullPage: false });
      await sampleBar('action-progress');
      await dialog.getByRole('button', { name: 'Start backup' }).click();
      await dialog.waitFor({ state: 'detached' });

      const card = jobCard('backup.create');
      await card.getByRole('progressbar', { name: 'Action progress' }).waitFor();
      await expect.poll(async () => card.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      expect(await card.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
      const seen = (await page.evaluate('window.barSeen')) as number[];
      expect(seen.at(-1)).toBe(100);

      const row = backupsTable().locator('tbody tr').first();
      await expect.poll(async () => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('completed');
      expect(await row.getAttribute('data-format')).toBe('native');
      nativeBackupId = (await row.getAttribute('data-backup-id')) ?? '';
      const saved = (await as(t, admin)('GET', `/api/v1/backups/${nativeBackupId}`)).json().backup;
      expect(saved).toMatchObject({ status: 'completed', format: 'native', kind: 'full', trigger: 'manual' });
      expect(await row.getByTestId('backup-sha').getAttribute('title')).toBe(`SHA-256 ${saved.sha256}`);
      expect(await row.textContent()).toMatch(/\d+(\.\d+)? (KB|MB)/);
      await page.getByTestId('backup-size-chart').waitFor();
      expect(await page.getByTestId('backup-size-chart').locator('rect.size-bar').count()).toBe(1);
      await snap('b-02-backups-tab');

      // One banner per job: the card said "done", no toast repeats it, and the card goes by itself.
      expect(await page.locator('.toasts .toast').filter({ hasText: 'finished' }).count()).toBe(0);
      await card.waitFor({ state: 'detached', timeout: 20_000 });
    },
    JOB_TIMEOUT,
  );

  it(
    'pins and unpins it: a pinned backup cannot be deleted',
    async () => {
      const row = backupsTable().locator(`tr[data-backup-id="${nativeBackupId}"]`);
      const pin = row.getByRole('switch', { name: 'Pinned' });
      expect(await pin.getAttribute('aria-checked')).toBe('false');
      await pin.click();
      await expect.poll(async () => pin.getAttribute('aria-checked')).toBe('true');
      await expect
        .poll(async () => (await as(t, admin)('GET', `/api/v1/backups/${nativeBackupId}`)).json().backup.pinned)
        .toBe(true);
      expect(await row.getByRole('button', { name: 'Delete', exact: true }).isDisabled()).toBe(true);
      await pin.click();
      await expect.poll(async () => pin.getAttribute('aria-checked')).toBe('false');
      await expect
        .poll(async () => (await as(t, admin)('GET', `/api/v1/backups/${nativeBackupId}`)).json().backup.pinned)
        .toBe(false);
      expect(await row.getByRole('button', { name: 'Delete', exact: true }).isDisabled()).toBe(false);
    },
    STEP_TIMEOUT,
  );

  it(
    'shows the backups once, in one table whose rows open on their copies, filterable, each action named in words',
    async () => {
      // The same backup is in one row of one table: no second "history" table repeats it.
      expect(await page.getByRole('table', { name: 'Backup history' }).count()).toBe(0);
      expect(
        await page.locator(`tr[data-backup-id="${nativeBackupId}"], tr[data-run-id="${nativeBackupId}"]`).count(),
      ).toBe(1);
      const row = backupsTable().locator(`tr[data-backup-id="${nativeBackupId}"]`);

      // Every action of the row says what it does in a visible word, and more on hover.
      const actions = [
        row.getByRole('link', { name: 'Download', exact: true }),
        row.getByRole('button', { name: 'Test restore', exact: true }),
        row.getByRole('button', { name: 'Restore', exact: true }),
        row.getByRole('button', { name: 'Delete', exact: true }),
      ];
      for (const action of actions) {
        const name = ((await action.textContent()) ?? '').trim();
        expect(['Download', 'Test restore', 'Restore', 'Delete']).toContain(name);
        expect(((await action.getAttribute('title')) ?? '').length).toBeGreaterThan(name.length);
      }
      // No icon-only control is left in the row without a name and a tooltip.
      for (const control of await row.locator('button, a').all()) {
        const text = ((await control.textContent()) ?? '').trim();
        const label = (await control.getAttribute('aria-label')) ?? '';
        expect(text || label, await control.evaluate((e) => e.outerHTML)).not.toBe('');
        if (!text) expect(await control.getAttribute('title')).toBeTruthy();
      }

      // The row opens on what the history used to show: its copies and its job's log.
      await row.getByRole('button', { name: 'Show details' }).click();
      const details = backupsTable().locator('tr.details-row');
      await details.getByText('Kept on this server only').waitFor();
      expect(await details.getByRole('link', { name: 'job log' }).getAttribute('href')).toMatch(/^\/jobs\//);
      await snap('b-02a-backups-tab-one-table');
      await row.getByRole('button', { name: 'Hide details' }).click();

      // Filters narrow the one table; nothing failed yet.
      const filters = page.getByRole('form', { name: 'Backup filters' });
      await filters.getByLabel('Status').selectOption('problem');
      await page.getByRole('heading', { name: 'No backup matches these filters' }).waitFor();
      await filters.getByRole('button', { name: 'Clear' }).click();
      await row.waitFor();
    },
    STEP_TIMEOUT,
  );

  it(
    'keeps at most three job cards, newest first, and lets finished ones go by themselves',
    async () => {
      const row = backupsTable().locator(`tr[data-backup-id="${nativeBackupId}"]`);
      const cards = page.locator('.started-jobs [data-testid="inline-job"]');
      const started: string[] = [];
      for (let i = 0; i < 4; i++) {
        await row.getByRole('button', { name: 'Test restore', exact: true }).click();
        await expect
          .poll(async () => {
            const first = await cards.first().getAttribute('data-job-id');
            return first && !started.includes(first) ? first : null;
          })
          .not.toBeNull();
        started.unshift((await cards.first().getAttribute('data-job-id')) ?? '');
        expect(await cards.count()).toBeLessThanOrEqual(3);
      }
      expect(await cards.count()).toBe(3);
      const shown = await cards.evaluateAll((all) => all.map((c) => c.getAttribute('data-job-id')));
      expect(shown[0]).toBe(started[0]);
      for (const id of shown) expect(started).toContain(id);
      await snap('b-02b-job-cards-capped', { fullPage: false });

      // Every test restore ends; the cards of those that succeeded leave on their own, a failed
      // one stays (with its error) until it is dismissed.
      for (const id of started) {
        await expect
          .poll(async () => (await as(t, admin)('GET', `/api/v1/jobs/${id}`)).json().job.status, {
            timeout: JOB_TIMEOUT,
          })
          .toMatch(/^(succeeded|failed|cancelled)$/);
      }
      await expect
        .poll(
          async () =>
            cards.evaluateAll((all) => all.filter((c) => c.getAttribute('data-job-status') === 'succeeded').length),
          {
            timeout: 30_000,
          },
        )
        .toBe(0);
      // A card shows Dismiss once it has seen its job end (its own event stream may lag the API).
      await expect
        .poll(
          async () => {
            for (const dismiss of await cards.getByRole('button', { name: 'Dismiss' }).all()) {
              await dismiss.click().catch(() => undefined);
            }
            return cards.count();
          },
          { timeout: 30_000 },
        )
        .toBe(0);
    },
    JOB_TIMEOUT * 2,
  );

  it(
    'downloads it through its plain link, with the session cookie',
    async () => {
      const row = backupsTable().locator(`tr[data-backup-id="${nativeBackupId}"]`);
      const link = row.getByRole('link', { name: 'Download' });
      expect(await link.getAttribute('href')).toBe(`/api/v1/backups/${nativeBackupId}/download`);
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toMatch(/^erp-main-.*-full\.tar\.zst$/);
      const saved = (await as(t, admin)('GET', `/api/v1/backups/${nativeBackupId}`)).json().backup;
      expect((await stat(await download.path())).size).toBe(saved.sizeBytes);
    },
    STEP_TIMEOUT,
  );

  it(
    'restores it into the same instance through the modal and follows the job to success',
    async () => {
      const row = backupsTable().locator(`tr[data-backup-id="${nativeBackupId}"]`);
      await row.getByRole('button', { name: 'Restore', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Restore backup' });
      expect(await dialog.getByRole('radio', { name: 'This instance' }).isChecked()).toBe(true);
      await dialog.getByText('Its current data is kept aside as the undo').waitFor();
      await dialog.getByRole('radio', { name: 'A new instance' }).check();
      await dialog.getByLabel('Instance name').waitFor();
      expect(await dialog.getByRole('checkbox', { name: 'Neutralize the copy' }).isChecked()).toBe(true);
      await dialog.getByLabel('Stage').selectOption('production');
      expect(await dialog.getByRole('checkbox', { name: 'Neutralize the copy' }).isChecked()).toBe(false);
      await dialog.getByText('A new production instance').waitFor();
      await snap('b-03-restore-modal-new-instance', { fullPage: false });
      await dialog.getByRole('radio', { name: 'This instance' }).check();
      await snap('b-03-restore-modal', { fullPage: false });
      await dialog.getByRole('button', { name: 'Restore into main' }).click();
      await dialog.waitFor({ state: 'detached' });

      const card = jobCard('backup.restore');
      await card.getByRole('progressbar', { name: 'Action progress' }).waitFor();
      await expect.poll(async () => card.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      await expect
        .poll(async () => page.locator('.page-header').getByTestId('instance-status').getAttribute('data-status'), {
          timeout: 30_000,
        })
        .toBe('running');
      // No safety backup any more: the replaced data is the undo, offered on the instance page.
      await expect
        .poll(async () => (await as(t, admin)('GET', `/api/v1/instances/${instance.id}`)).json().instance.undo)
        .not.toBeNull();
      await snap('b-04-backups-tab-after-restore');
    },
    JOB_TIMEOUT,
  );

  it.skipIf(!haveFixture)(
    "imports the zip made by Odoo 17's database manager as a new instance, with upload and job progress",
    async () => {
      await nav('Backups').click();
      await page.waitForURL(`${baseUrl}/backups`);
      await page.getByRole('table', { name: 'All backups' }).waitFor();
      await page.getByRole('link', { name: 'Import a backup' }).click();
      await page.waitForURL(`${baseUrl}/imports/new`);

      await page.getByLabel('Backup file').setInputFiles(fixtureZip);
      await expect.poll(async () => page.getByTestId('archive-version').textContent()).toMatch(/^17\.0/);
      expect(await page.getByRole('radio', { name: 'A new instance' }).isChecked()).toBe(true);
      await page.getByLabel('Instance name').fill('imported');
      await page.getByLabel('Stage').selectOption('staging');
      await snap('b-05-import-page');

      // A slow uplink, so the upload bar has something to show on the way.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: 400 * 1024,
      });
      await sampleBar('upload-progress');
      await page.getByRole('button', { name: 'Upload and import' }).click();
      const uploadBar = page.getByRole('progressbar', { name: 'Upload progress' });
      await uploadBar.waitFor();
      await expect.poll(async () => Number(await uploadBar.getAttribute('aria-valuenow'))).toBeGreaterThan(10);
      await snap('b-06-import-uploading');

      const card = jobCard('backup.restore');
      await card.waitFor({ timeout: 30_000 });
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      const uploadSeen = (await page.evaluate('window.barSeen')) as number[];
      expect(uploadSeen.at(-1)).toBe(100);
      expect(uploadSeen.some((v) => v > 0 && v < 100)).toBe(true);
      await card.getByRole('list', { name: 'Steps' }).waitFor();
      await expect.poll(async () => card.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      await page.getByRole('link', { name: 'Open imported' }).waitFor();
      await snap('b-07-import-done');

      const imported = (await as(t, admin)('GET', '/api/v1/instances'))
        .json()
        .instances.find((i: { name: string }) => i.name === 'imported');
      expect(imported).toMatchObject({ stage: 'staging', odooVersion: '17.0' });
      const backups = (await as(t, admin)('GET', `/api/v1/backups?instance=${imported.id}&trigger=import`)).json()
        .backups;
      expect(backups).toHaveLength(1);
    },
    JOB_TIMEOUT,
  );

  it(
    'opens the clone page with the database cards of the source and the target',
    async () => {
      await page.goto(`${baseUrl}/instances/${instance.id}?tab=backups`);
      await page.getByRole('link', { name: 'Clone…' }).click();
      await page.waitForURL(`${baseUrl}/instances/${instance.id}/clone`);
      await page.getByRole('heading', { name: 'Clone an instance' }).waitFor();
      const source = page.getByRole('region', { name: 'Source database' });
      const target = page.getByRole('region', { name: 'Target database' });
      await source.getByText('Tables').waitFor();
      await expect.poll(async () => source.textContent()).toMatch(/Database\d+(\.\d+)? (KB|MB)/);
      await source.getByText('Native ·').waitFor();
      expect(await source.textContent()).not.toContain('never');
      await page.getByText('its users stay connected').waitFor();
      await page.getByRole('checkbox', { name: 'Copy the filestore' }).waitFor();

      if (haveFixture) {
        // "imported" fits (same organization, Odoo 17.0): found by name, the target card shows its numbers too.
        await page.getByRole('radio', { name: 'An existing instance' }).check();
        await page.getByRole('combobox', { name: 'Instance', exact: true }).fill('imp');
        await matches()
          .getByRole('option', { name: /^imported\b/ })
          .click();
        await target.getByRole('link', { name: 'imported' }).waitFor();
        await target.getByText('Tables').waitFor();
        await page.getByText('imported is replaced').waitFor();
        expect(await page.getByRole('checkbox', { name: 'Neutralize the copy' }).isChecked()).toBe(true);
      } else {
        await page.getByRole('radio', { name: 'A new instance' }).check();
        await target.getByText('Created by the clone').waitFor();
      }
      expect(await page.getByTestId('database-card').count()).toBe(2);
      await snap('b-08-clone-page');

      await page.getByRole('radio', { name: 'A new instance' }).check();
      await page.getByLabel('Instance name').fill('copy');
      await page.getByRole('button', { name: 'Clone into a new instance' }).click();
      const card = jobCard('instance.clone');
      await card.getByRole('progressbar', { name: 'Clone progress' }).waitFor();
      await expect.poll(async () => card.getAttribute('data-job-status'), { timeout: JOB_TIMEOUT }).toBe('succeeded');
      await card.getByRole('list', { name: 'Steps' }).locator('li[data-step="neutralize"]').waitFor();
      await snap('b-09-clone-done');
    },
    JOB_TIMEOUT,
  );

  it(
    'lists every backup on the Backups page, filtered',
    async () => {
      await nav('Backups').click();
      await page.waitForURL(`${baseUrl}/backups`);
      const table = page.getByRole('table', { name: 'All backups' });
      const listed = async (query: string) => (await as(t, admin)('GET', `/api/v1/backups${query}`)).json().backups;
      const all = (await listed('')).length;
      await expect.poll(async () => table.locator('tbody tr').count()).toBe(all);
      // The import's backup is the one not made by hand; without the fixture, every backup is.
      const manual = await listed('?trigger=manual');
      if (haveFixture) expect(manual.length).toBeLessThan(all);
      await page.getByLabel('Trigger').selectOption('manual');
      await expect.poll(async () => table.locator('tbody tr').count()).toBe(manual.length);
      await table.locator(`tr[data-backup-id="${nativeBackupId}"]`).waitFor();
      await page.getByRole('button', { name: 'Clear' }).click();
      await expect.poll(async () => table.locator('tbody tr').count()).toBe(all);
      await snap('b-10-backups-page');

      // The instance filter finds one by part of its name and keeps its id in the address.
      const picker = page.getByRole('combobox', { name: 'Instance', exact: true });
      const main = matches().getByRole('option', { name: /^main\b/ });
      // The list narrows its last answer by name at once: the choice waits for the API's for "mai".
      const searched = page.waitForResponse((r) => new URL(r.url()).searchParams.get('search') === 'mai');
      await picker.fill('mai');
      await searched;
      await main.waitFor();
      await snap('b-10a-backups-instance-picker', { fullPage: false });
      await main.click();
      await page.waitForURL(/[?&]instance=/);
      expect(new URL(page.url()).searchParams.get('instance')).toBe(instance.id);
      expect(await picker.inputValue()).toBe('main');
      const ofMain = (await as(t, admin)('GET', `/api/v1/backups?instance=${instance.id}`)).json().backups;
      await expect.poll(async () => table.locator('tbody tr').count()).toBe(ofMain.length);
      await table.locator(`tr[data-backup-id="${nativeBackupId}"]`).waitFor();
      await page.getByRole('button', { name: 'Clear' }).click();
      await expect.poll(async () => table.locator('tbody tr').count()).toBe(all);
      expect(await picker.inputValue()).toBe('');

      // Never the whole instance list: the Backups, clone and import pages ask for a page of
      // matches; only the instance page lists its project's few instances whole.
      const asked = (on: RegExp, test: (query: URLSearchParams) => boolean) =>
        instanceLists.filter((ask) => on.test(ask.on) && test(ask.query)).map((ask) => `${ask.on}?${ask.query}`);
      expect(asked(/^\/backups$/, (query) => query.get('search') === 'mai')).not.toEqual([]);
      expect(asked(/^\/(backups|imports\/new|clone)$|\/clone$/, (query) => !query.has('limit'))).toEqual([]);
      expect(asked(/./, (query) => !query.has('limit') && !query.has('project'))).toEqual([]);
      expect(pageErrors).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});

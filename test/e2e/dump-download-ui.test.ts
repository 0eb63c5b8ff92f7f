import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
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
import { followJob } from '../helpers/jobs.js';

/**
 * Issue #17 in a real Chromium: "Download .dump" on a backup Marina made (a zip) prepares its
 * database as a PostgreSQL custom-format .dump on the server (a job with its card), then the
 * browser downloads it. Stand-in Odoo. Screenshots go to MARINA_SHOTS (default
 * /work/screens/after) as dump-download-*.png.
 */
const shots = process.env.MARINA_SHOTS ?? '/work/screens/after';
const namespace = testNamespace();
let t: TestApp;
let browser: Browser;
let page: Page;
let baseUrl: string;
let instanceId: string;
let backupId: string;

beforeAll(async () => {
  await requireDocker();
  await mkdir(shots, { recursive: true });
  const marina = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  ({ t, baseUrl } = marina);
  const admin: Session = marina.admin;
  const { instance } = await provisionInstance(marina, { project: 'erp', name: 'main' });
  instanceId = instance.id;
  const made = await as(t, admin)('POST', `/api/v1/instances/${instance.id}/backups`, {
    kind: 'database',
    format: 'zip',
  });
  backupId = made.json().backup.id;
  await followJob(baseUrl, marina.headers, made.json().job.id);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true })).newPage();
  page.setDefaultTimeout(15_000);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
}, 120_000);

describe('"Download .dump" of a backup Marina made', () => {
  it('prepares the .dump with a job card, then downloads a custom-format dump', async () => {
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/instances/${instanceId}?tab=backups`);
    const row = page.locator(`tr[data-backup-id="${backupId}"]`);
    await row.getByRole('link', { name: 'Download', exact: true }).waitFor();
    await page.screenshot({ path: join(shots, 'dump-download-row.png'), fullPage: true });
    const button = row.getByRole('button', { name: 'Download .dump', exact: true });
    await button.waitFor();
    expect(await button.getAttribute('title')).toMatch(/PostgreSQL custom-format \.dump/);
    const downloading = page.waitForEvent('download', { timeout: 180_000 });
    await button.click();
    await page.getByText('.dump of the backup of').first().waitFor();
    await page.screenshot({ path: join(shots, 'dump-download-preparing.png'), fullPage: true });
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/\.dump$/);
    const bytes = await readFile(await download.path());
    expect(bytes.subarray(0, 5).toString()).toBe('PGDMP');
    await page.screenshot({ path: join(shots, 'dump-download-done.png'), fullPage: true });
  }, 300_000);
});

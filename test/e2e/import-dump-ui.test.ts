import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
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
 * Issue #17 in a real Chromium: the import page recognises a file by its content before upload —
 * a wrong file is refused saying what it is and what Marina accepts, a PostgreSQL custom-format
 * .dump (Odoo's second backup format) is accepted, uploaded and restored (stand-in Odoo).
 * Screenshots go to MARINA_SHOTS (default /work/screens/after) as dump-*.png.
 */
const shots = process.env.MARINA_SHOTS ?? '/work/screens/after';
const ACCEPTED =
  "Marina accepts an Odoo backup zip (with or without filestore) or a PostgreSQL custom-format dump (.dump) from Odoo's database manager.";
const namespace = testNamespace();
let t: TestApp;
let baseUrl: string;
let browser: Browser;
let page: Page;
let work: string;
let dumpFile: string;
let gzipFile: string;
let dbName: string;

beforeAll(async () => {
  await requireDocker();
  await mkdir(shots, { recursive: true });
  work = await mkdtemp(join(tmpdir(), 'marina-dump-ui-'));
  const marina = await startDockerMarina(namespace, { MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin });
  ({ t, baseUrl } = marina);
  const { instance } = await provisionInstance(marina, { project: 'erp', name: 'main' });
  dbName = instance.dbName;
  // A .dump as Odoo's database manager makes it: pg_dump --format=c --no-owner.
  const server = await t.services.databaseServers.forInstances('local');
  const c = await t.services.databaseServers.connection(server);
  dumpFile = join(work, 'erp-main.dump');
  await promisify(execFile)('pg_dump', ['--format=c', '--no-owner', '--file', dumpFile, '--dbname', dbName], {
    env: { ...process.env, PGHOST: c.host, PGPORT: String(c.port), PGUSER: c.user, PGPASSWORD: c.password },
  });
  // A gzip named like a zip: the page must go by content, not by name.
  gzipFile = join(work, 'backup.zip');
  await writeFile(gzipFile, gzipSync('-- PostgreSQL database dump\n'));
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  page.setDefaultTimeout(15_000);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
  if (work) await rm(work, { recursive: true, force: true });
}, 120_000);

describe('the import page and .dump files', () => {
  it('refuses a gzip named backup.zip, saying what it is and what Marina accepts', async () => {
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/imports/new`);
    await page.getByLabel('Backup file').setInputFiles(gzipFile);
    await page.getByRole('alert').first().waitFor();
    await page.screenshot({ path: join(shots, 'dump-refused.png'), fullPage: true });
    const alert = page.locator('.import-form [role="alert"]').first();
    expect(await alert.textContent()).toContain(`This file is a gzip archive, not an Odoo backup. ${ACCEPTED}`);
    expect(await page.getByRole('button', { name: /Upload and import/ }).isDisabled()).toBe(true);
  }, 60_000);

  it('accepts a .dump, shows what its header says, uploads it and restores it into a new instance', async () => {
    await page.getByLabel('Backup file').setInputFiles(dumpFile);
    const facts = page.getByTestId('archive-facts');
    // Whatever the page makes of it (facts, or a refusal), it is shot first: the "before" picture too.
    await page.locator('[data-testid="archive-facts"] dl, .import-form [role="alert"]').first().waitFor();
    await page.getByLabel('Instance name').fill('fromdump');
    await page.screenshot({ path: join(shots, 'dump-accepted.png'), fullPage: true });
    expect(await page.locator('.import-form [role="alert"]').count()).toBe(0);
    await facts.getByText('PostgreSQL custom-format dump').waitFor();
    expect(await facts.textContent()).toContain(dbName);
    await page.getByRole('button', { name: 'Upload and import' }).click();
    const card = page.locator('[data-testid="inline-job"][data-job-kind="backup.restore"]');
    await card.waitFor({ timeout: 30_000 });
    await expect
      .poll(async () => card.getAttribute('data-job-status'), { timeout: 180_000 })
      .toMatch(/^(succeeded|failed|cancelled)$/);
    await page.screenshot({ path: join(shots, 'dump-imported.png'), fullPage: true });
    expect(await card.getAttribute('data-job-status'), (await card.textContent()) ?? '').toBe('succeeded');
    await page.getByText('The .dump is kept as a backup of fromdump').waitFor();
  }, 240_000);
});

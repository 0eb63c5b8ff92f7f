import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createRoleAndDatabase, databaseExists } from '../../src/adapters/postgres/admin.js';
import { LOCAL_HOST_ID } from '../../src/modules/hosts/hosts.js';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import {
  adminBrowser,
  as,
  createTestApp,
  type Browser as Session,
  STRONG_PASSWORD,
  type TestApp,
} from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';

/**
 * Settings → Template databases in Chromium, on rows seeded in `database_templates` (no Odoo
 * runs): the empty state, the table (recipe, status with a failed build's reason, size, build
 * time, uses, last use, server), Remove dropping the template's real database on the test
 * PostgreSQL, and the warm settings saved — or refused, with the API's reason on screen.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = '/work/screens';
// Only 17.0 has its image on the stand-in engine: the other versions show why they wait.
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });

let t: TestApp;
let admin: Session;
let browser: Browser;
let page: Page;
let baseUrl: string;
let webDir: string;
let serverId: string;
const pageErrors: string[] = [];

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
const rows = () => t.db.selectFrom('database_templates').selectAll().execute();
const section = () => page.getByRole('region', { name: 'Template databases' });
const table = () => page.getByRole('table', { name: 'Template databases' });
const warmForm = () => page.getByRole('form', { name: 'Warm template databases' });

async function seed(values: {
  odooVersion: string;
  modules: string[];
  status: 'building' | 'ready' | 'failed';
  language?: string;
  demo?: boolean;
  error?: string;
  uses?: number;
  buildMs?: number;
  bytes?: number;
  createdMinutesAgo: number;
  lastUsedMinutesAgo?: number;
}) {
  const short = randomBytes(8).toString('hex');
  const recipe = {
    odooVersion: values.odooVersion,
    image: IMAGE,
    imageId: `sha256:${short}`,
    modules: values.modules,
    checksum: null,
    language: values.language ?? 'en_US',
    demo: values.demo ?? false,
  };
  return t.db
    .insertInto('database_templates')
    .values({
      database_server_id: serverId,
      host_id: LOCAL_HOST_ID,
      key_hash: `key-${short}`,
      recipe_hash: `recipe-${short}`,
      recipe: JSON.stringify(recipe),
      db_name: `marina_tpl_${short}`,
      volume_name: `mtmemdbtplui-dbtemplate-${short}`,
      status: values.status,
      error: values.error ?? null,
      uses: values.uses ?? 0,
      build_ms: values.buildMs ?? null,
      bytes: values.bytes ?? null,
      created_at: minutesAgo(values.createdMinutesAgo),
      ready_at: values.status === 'ready' ? minutesAgo(values.createdMinutesAgo - 1) : null,
      last_used_at: values.lastUsedMinutesAgo === undefined ? null : minutesAgo(values.lastUsedMinutesAgo),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

async function openSection(): Promise<void> {
  await page.goto(`${baseUrl}/settings?tab=database-templates`);
  await section().waitFor();
  await warmForm().waitFor();
}

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-dbtpl-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    {
      MARINA_WEB_DIR: webDir,
      MARINA_NAMESPACE: 'mtmemdbtplui',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  // The test PostgreSQL is the local host's database server, as MARINA_ODOO_DATABASE_URL makes it.
  serverId = (await t.services.databaseServers.forInstances(LOCAL_HOST_ID)).id;
  admin = await adminBrowser(t);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

describe('template databases in the browser', { timeout: 120_000 }, () => {
  it('says templates are built on first need while there is none', async () => {
    await openSection();
    await section().getByText('No template database yet').waitFor();
    expect(await section().textContent()).toContain('builds a template the first time an instance of its recipe');
    expect(await table().count()).toBe(0);
  });

  it('lists the templates; Remove drops one, its database too, and the list follows', async () => {
    const sales = await seed({
      odooVersion: '17.0',
      modules: ['base', 'account', 'bus', 'mail', 'product', 'sale', 'sale_management', 'web'],
      status: 'ready',
      uses: 12,
      buildMs: 14_300,
      bytes: 48 * 1024 * 1024,
      createdMinutesAgo: 3 * 24 * 60,
      lastUsedMinutesAgo: 120,
    });
    await seed({
      odooVersion: '16.0',
      modules: ['base'],
      status: 'ready',
      language: 'de_DE',
      demo: true,
      buildMs: 9_800,
      bytes: 21 * 1024 * 1024,
      createdMinutesAgo: 60,
    });
    const failed = await seed({
      odooVersion: '17.0',
      modules: ['base', 'stock'],
      status: 'failed',
      error: 'Odoo exited with 1: ERROR marina_tpl odoo.modules.loading: Module stock: not installable, skipped',
      buildMs: 4_100,
      createdMinutesAgo: 30,
    });
    await seed({ odooVersion: '18.0', modules: ['base', 'crm'], status: 'building', createdMinutesAgo: 1 });
    // The one to remove is real on the test PostgreSQL, made as a build makes it.
    const connection = await t.services.databaseServers.connection(await t.services.databaseServers.get(serverId));
    await createRoleAndDatabase(connection, sales.db_name, randomBytes(18).toString('base64url'));

    await openSection();
    await table().waitFor();
    expect(await table().locator('tbody tr').count()).toBe(4);
    const salesRow = table().locator(`tr[data-database="${sales.db_name}"]`);
    const cells = await salesRow.locator('td').allInnerTexts();
    expect(cells.slice(0, 3)).toEqual(['17.0', 'account, bus +5 more', 'en_US\nno demo']);
    expect(cells.slice(3, 6)).toEqual(['ready\nbuilt in 14.3 s', '48.0 MB', '12\n2 hours ago']);
    expect(cells[6]).toBe(`local\n${sales.db_name}`);
    expect(await salesRow.locator('.db-template-modules').getAttribute('title')).toBe(
      'base, account, bus, mail, product, sale, sale_management, web',
    );
    const failedRow = table().locator(`tr[data-database="${failed.db_name}"]`);
    expect(await failedRow.getByTestId('template-status').getAttribute('data-status')).toBe('failed');
    expect(await failedRow.locator('.db-template-error').textContent()).toContain('Module stock: not installable');
    const baseRow = table().locator('tbody tr', { hasText: 'de_DE' });
    expect(await baseRow.locator('td').nth(1).textContent()).toBe('base only');
    expect(await baseRow.locator('td').nth(2).textContent()).toBe('de_DEdemo data');
    expect(await baseRow.locator('td').nth(5).textContent()).toBe('0never used');
    // A build in progress cannot be removed (the API would refuse it).
    expect(
      await table()
        .locator('tbody tr', { hasText: 'crm' })
        .getByRole('button', { name: /^Remove marina_tpl_/ })
        .isDisabled(),
    ).toBe(true);
    await page.screenshot({ path: join(shots, 'template-databases.png'), fullPage: true });
    // Every column, Remove included, is on screen at 1440 px: no sideways scrolling.
    const widths = await table()
      .locator('xpath=..')
      .evaluate((wrap) => ({ scroll: wrap.scrollWidth, client: wrap.clientWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);

    expect(await databaseExists(connection, sales.db_name)).toBe(true);
    await salesRow.getByRole('button', { name: /^Remove marina_tpl_/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`Remove the template database ${sales.db_name}?`).waitFor();
    await dialog.getByRole('button', { name: 'Remove template database' }).click();
    await salesRow.waitFor({ state: 'detached' });
    await page.getByText(`The template database ${sales.db_name} is removed.`).waitFor();
    expect(await table().locator('tbody tr').count()).toBe(3);
    expect((await rows()).map((r) => r.id)).not.toContain(sales.id);
    expect(await databaseExists(connection, sales.db_name)).toBe(false);
    const audit = await t.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', '=', 'platform.remove_database_template')
      .execute();
    expect(audit).toHaveLength(1);

    // A failed build has no database to drop: removing it only forgets it.
    await failedRow.getByRole('button', { name: /^Remove marina_tpl_/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove template database' }).click();
    await failedRow.waitFor({ state: 'detached' });
    expect((await rows()).map((r) => r.id)).not.toContain(failed.id);
  });

  it('saves which versions and Odoo templates are built ahead; a refusal says why', async () => {
    const call = as(t, admin);
    const made = [];
    for (const [slug, name, modules] of [
      ['sales', 'Sales', ['sale_management']],
      ['shop', 'Shop', ['website_sale', 'stock']],
    ] as const) {
      const answer = await call('POST', '/api/v1/odoo-templates', { slug, name, odooVersion: '16.0', modules });
      expect(answer.statusCode, answer.body).toBe(201);
      made.push(answer.json().template.id as string);
    }
    const [sales, shop] = made as [string, string];

    await openSection();
    const form = warmForm();
    await form.getByLabel('Odoo 16.0').check();
    await form.getByLabel('Sales').check();
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('2 recipe(s) are kept built ahead.').waitFor();
    const saved = (await call('GET', '/api/v1/database-templates/warm')).json();
    expect(saved).toEqual({ versions: ['16.0'], templates: [sales] });
    // After a reload the form shows what was saved.
    await openSection();
    expect(await warmForm().getByLabel('Odoo 16.0').isChecked()).toBe(true);
    expect(await warmForm().getByLabel('Sales').isChecked()).toBe(true);
    expect(await warmForm().getByLabel('Shop').isChecked()).toBe(false);

    // Shop is archived while the form still offers it: the API refuses, the page says so.
    await warmForm().getByLabel('Shop').check();
    await t.db.updateTable('odoo_templates').set({ archived_at: new Date() }).where('id', '=', shop).execute();
    await warmForm().getByRole('button', { name: 'Save' }).click();
    const refusal = warmForm().locator('.alert');
    await refusal.waitFor();
    // The API names the template by its id; the form by the name it showed.
    expect(await refusal.textContent()).toContain(
      'No usable Odoo template “Shop”. The list below is read again: Save keeps those still offered.',
    );
    await page.screenshot({ path: join(shots, 'template-databases-refused.png'), fullPage: true });
    expect((await call('GET', '/api/v1/database-templates/warm')).json()).toEqual(saved);
    // The list is read again without it, and the next Save keeps what is still there.
    await warmForm().getByLabel('Shop').waitFor({ state: 'detached' });
    await warmForm().getByRole('button', { name: 'Save' }).click();
    await vi.waitFor(async () => expect(await refusal.count()).toBe(0));
    await page.getByText('2 recipe(s) are kept built ahead.').waitFor();
    expect((await call('GET', '/api/v1/database-templates/warm')).json()).toEqual(saved);
    // A warm template archived later drops out alone: the versions stay built ahead.
    await t.db.updateTable('odoo_templates').set({ archived_at: new Date() }).where('id', '=', sales).execute();
    expect((await call('GET', '/api/v1/database-templates/warm')).json()).toEqual({
      versions: ['16.0'],
      templates: [],
    });
    expect(pageErrors).toEqual([]);
  });
});

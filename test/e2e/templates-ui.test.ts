import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import {
  adminBrowser,
  as,
  createTestApp,
  memberBrowser,
  type Browser as Session,
  STRONG_PASSWORD,
  type TestApp,
} from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';
import { makeOrganization, makeProject } from '../helpers/factories.js';

/**
 * Settings → Templates in Chromium: the list, a new template whose modules are checked while they
 * are typed, an edit, archive (used) versus remove (unused); the instance form's Template choice
 * (only the project's version), which fills language and country and is recorded on the instance;
 * and no Templates tab for an organization's owner.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const after = '/work/screens/after';
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Session;
let browser: Browser;
let baseUrl: string;
let webDir: string;
let projectId: string;
const pageErrors: string[] = [];

async function shoot(page: Page, name: string, target: Locator): Promise<void> {
  await target.scrollIntoViewIfNeeded();
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path });
  await mkdir(after, { recursive: true });
  await copyFile(path, join(after, `${name}.png`));
}

const templateRow = (slug: string) =>
  t.db.selectFrom('odoo_templates').selectAll().where('slug', '=', slug).executeTakeFirst();

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-templates-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    {
      MARINA_WEB_DIR: webDir,
      MARINA_NAMESPACE: 'mtmemtplui',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await adminBrowser(t);
  const call = as(t, admin);
  await makeOrganization(call, { slug: 'acme', name: 'ACME' });
  projectId = (await makeProject(call, { organization: 'acme', name: 'erp', odooVersion: '17.0' })).id;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

async function adminPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
  return page;
}

describe('templates in the browser', { timeout: 180_000 }, () => {
  it('makes a template with live module checks, edits it, and archives or removes', async () => {
    const page = await adminPage();
    await page.goto(`${baseUrl}/settings?tab=templates`);
    const section = page.getByRole('region', { name: 'Templates' });
    await section.getByText('No template yet').waitFor();

    await section.getByRole('button', { name: 'New template' }).click();
    const form = page.getByRole('form', { name: 'Template' });
    await form.getByLabel('Name', { exact: true }).fill('Sales starter');
    await form.getByLabel('Slug').fill('sales-starter');
    await form.getByLabel('Description').fill('Quotations, invoices and a CRM.');
    const modules = form.getByLabel('Modules');
    // Checked while typed: a bad name is said at once and nothing can be sent.
    await modules.fill('sale_management, Sale-Pro crm');
    await form.getByText('“Sale-Pro” is not an Odoo module name').waitFor();
    expect(await form.getByRole('button', { name: 'Create template' }).isDisabled()).toBe(true);
    await shoot(page, 'T-template-form-invalid', form);
    await modules.fill('sale_management, crm\nbase crm');
    await form.getByText('“crm” is listed twice.').waitFor();
    await modules.fill('sale_management, crm base');
    await form.getByText('Installs base, sale_management, crm (2 of at most 50).').waitFor();
    await form.getByLabel('Language').selectOption('fr_BE');
    await form.getByLabel('Country').fill('be');
    await form.getByLabel('Demo data').check();
    await shoot(page, 'T-template-form', form);
    await form.getByRole('button', { name: 'Create template' }).click();

    const table = page.getByRole('table', { name: 'Templates' });
    const row = table.locator('tr', { has: page.locator('[data-template="sales-starter"]') });
    await row.waitFor();
    expect(await row.textContent()).toContain('base, sale_management, crm · fr_BE · BE · demo data');
    const made = await templateRow('sales-starter');
    expect(made).toMatchObject({
      name: 'Sales starter',
      modules: ['sale_management', 'crm'],
      language: 'fr_BE',
      country: 'BE',
      demo: true,
      public: true,
      company_name_from_org: true,
    });

    // Edit: the form opens with what is stored; a change is saved.
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Template' });
    expect(await edit.getByLabel('Modules').inputValue()).toBe('sale_management, crm');
    await edit.getByLabel('Name', { exact: true }).fill('Sales');
    await edit.getByLabel('Modules').fill('sale_management crm stock');
    await edit.getByRole('button', { name: 'Save template' }).click();
    await table.getByText('base, sale_management, crm, stock').waitFor();
    const edited = await templateRow('sales-starter');
    expect(edited).toMatchObject({ name: 'Sales', modules: ['sale_management', 'crm', 'stock'] });
    expect(edited?.content_hash).not.toBe(made?.content_hash);

    // A second, unused one is removed; the used one is archived.
    const spare = await as(t, admin)('POST', '/api/v1/odoo-templates', {
      slug: 'spare',
      name: 'Spare',
      odooVersion: '17.0',
    });
    expect(spare.statusCode, spare.body).toBe(201);
    const used = await as(t, admin)('POST', '/api/v1/instances', {
      project: projectId,
      name: 'made-from-it',
      stage: 'development',
      memoryMb: 768,
      adminLogin: 'o@acme.test',
      templateId: made?.id,
    });
    expect(used.statusCode, used.body).toBe(202);
    await page.reload();
    await shoot(page, 'T-templates-list', table);
    const spareRow = table.locator('tr', { has: page.locator('[data-template="spare"]') });
    await spareRow.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove template' }).click();
    await spareRow.waitFor({ state: 'detached' });
    expect(await templateRow('spare')).toBeUndefined();

    await row.getByRole('button', { name: 'Archive' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove template' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await templateRow('sales-starter'))?.archived_at).not.toBeNull();
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('offers the project’s templates in the instance form, fills language and country, records the choice', async () => {
    const call = as(t, admin);
    for (const [slug, name, odooVersion] of [
      ['belgian', 'Belgian accounting', '17.0'],
      ['eighteen', 'Eighteen only', '18.0'],
    ] as const) {
      const made = await call('POST', '/api/v1/odoo-templates', {
        slug,
        name,
        odooVersion,
        description: 'Accounting for Belgium.',
        modules: ['account'],
        language: 'nl_BE',
        country: 'BE',
      });
      expect(made.statusCode, made.body).toBe(201);
    }
    const page = await adminPage();
    await page.goto(`${baseUrl}/instances/new?project=${projectId}`);
    const select = page.getByLabel('Template');
    await select.waitFor();
    const options = await select.locator('option').allTextContents();
    expect(options).toEqual(['None', 'Belgian accounting']);
    await select.selectOption({ label: 'Belgian accounting' });
    expect(await page.getByLabel('Language').inputValue()).toBe('nl_BE');
    expect(await page.getByLabel('Country').inputValue()).toBe('BE');
    await page.getByText('Accounting for Belgium. Installs base, account.').waitFor();
    await page.getByLabel('Instance name').fill('belgium');
    await shoot(page, 'T-new-instance-template', select);
    await page.getByRole('button', { name: 'Create instance' }).click();
    await expect
      .poll(async () => (await t.db.selectFrom('instances').selectAll().where('name', '=', 'belgium').execute()).length)
      .toBe(1);
    const instance = await t.db
      .selectFrom('instances')
      .innerJoin('odoo_templates', 'odoo_templates.id', 'instances.template_id')
      .select(['odoo_templates.slug', 'instances.language', 'instances.country'])
      .where('instances.name', '=', 'belgium')
      .executeTakeFirstOrThrow();
    expect(instance).toEqual({ slug: 'belgian', language: 'nl_BE', country: 'BE' });
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('shows no Templates tab to an organization’s owner', async () => {
    await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    // One organization: the sign-in lands on it rather than on the list signInPage waits for.
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('Email').fill('owner@acme.test');
    await page.getByLabel('Password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/organizations/acme`);
    await page.goto(`${baseUrl}/settings?tab=templates`);
    await page.getByRole('tab', { name: 'API tokens' }).waitFor();
    expect(await page.getByRole('tab', { name: 'Templates' }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Templates' }).count()).toBe(0);
    await context.close();
  });
});

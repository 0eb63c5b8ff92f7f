import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { plansWorld } from '../../src/modules/plans/plans-test-support.js';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import { adminBrowser, createTestApp, type Browser as Session, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';

/**
 * Settings → Plans in Chromium (list, a new plan with an integer price), the organization's usage
 * bars, and the new-instance page's stage choice disabled with the plan's reason before trying.
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
const pageErrors: string[] = [];
const world = plansWorld(
  () => t,
  () => admin,
);

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
  webDir = await mkdtemp(join(tmpdir(), 'marina-plans-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    {
      MARINA_WEB_DIR: webDir,
      MARINA_NAMESPACE: 'mtmemplansui',
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
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

describe('plans in the browser', { timeout: 120_000 }, () => {
  it('lists plans, makes one with a price in minor units, and shows an organization its usage', async () => {
    const starter = await world.makePlan(
      { maxProduction: 1, maxDevelopment: 3, storageMb: 1000, maxCustomDomains: 2 },
      {
        public: true,
        trialDays: 14,
        stagingAllowed: false,
        prices: [{ currency: 'EUR', period: 'month', amountMinor: 1990 }],
      },
    );
    const { organization, project } = await world.makeCustomer(starter.id);
    const prod = await world.madeInstance(project.id, 'prod', 'production');
    await world.measured(prod, organization.id, 850 * world.MB);

    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);

    await page.goto(`${baseUrl}/settings?tab=plans`);
    const table = page.getByRole('table', { name: 'Plans' });
    const row = table.locator('tr', { has: page.locator(`[data-plan="${starter.slug}"]`) });
    await row.waitFor();
    expect(await row.textContent()).toContain('€19.90/month');
    expect(await row.textContent()).toContain('1 prod · 0 staging · 3 dev');
    await shoot(page, 'B-plans-list', table);

    await page.getByRole('button', { name: 'New plan' }).click();
    const form = page.getByRole('form', { name: 'Plan' });
    await form.getByLabel('Name').fill('Business');
    await form.getByLabel('Slug').fill('business');
    await form.getByLabel('Production instances').fill('3');
    await form.getByLabel('CPUs per instance').fill('4');
    await form.getByLabel('Monthly price (minor units)').fill('4900');
    await shoot(page, 'B-plans-new', form);
    await form.getByRole('button', { name: 'Create plan' }).click();
    await table.locator('[data-plan="business"]').waitFor();
    const made = await t.db
      .selectFrom('plans')
      .innerJoin('plan_prices', 'plan_prices.plan_id', 'plans.id')
      .select(['plans.max_production', 'plans.max_cpus', 'plan_prices.amount_minor', 'plan_prices.currency'])
      .where('plans.slug', '=', 'business')
      .executeTakeFirstOrThrow();
    expect(made).toEqual({ max_production: 3, max_cpus: '4.0', amount_minor: '4900', currency: 'EUR' });

    await page.goto(`${baseUrl}/organizations/${organization.slug}`);
    const bars = page.getByRole('region', { name: 'Plan usage' });
    await bars.getByText(`Plan: ${starter.name}`).waitFor();
    expect(await bars.locator('[data-usage="Production instances"]').textContent()).toContain('1 / 1');
    expect(await bars.locator('[data-usage="Storage"]').textContent()).toContain('850 MB / 1000 MB');
    expect(await bars.getByRole('progressbar', { name: /Storage: 85 %/ }).count()).toBe(1);
    await shoot(page, 'B-usage-bars', bars);

    await page.goto(`${baseUrl}/instances/new?project=${project.id}`);
    const production = page.getByRole('radio', { name: /Production/ });
    await expect.poll(() => production.isDisabled()).toBe(true);
    await page.getByText(`Plan ${starter.name} allows 1 production instance; you have 1.`).waitFor();
    expect(await page.getByRole('radio', { name: /Staging/ }).isDisabled()).toBe(true);
    expect(await page.getByRole('radio', { name: /Development/ }).isDisabled()).toBe(false);
    // The refused stage is not left chosen: the first with room is.
    await expect.poll(() => page.getByRole('radio', { name: /Development/ }).isChecked()).toBe(true);
    await shoot(page, 'B-new-instance-stages', page.getByRole('group', { name: 'Stage' }));
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});

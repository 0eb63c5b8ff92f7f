import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DAY_MS } from '../../src/modules/lifecycle/machine.js';
import { plansWorld } from '../../src/modules/plans/plans-test-support.js';
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

/**
 * The operator's Customers page and Settings → Lifecycle in Chromium on a real PostgreSQL: totals and
 * charts from organizations made through the API, search, state filter and sort, each row action
 * through its dialog (checked against the API after), "open as", and nothing of it for a non-admin.
 * Instances run on the in-memory runtime: what is checked here is the page, not Docker.
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

async function shoot(page: Page, name: string, target?: Locator): Promise<void> {
  await target?.scrollIntoViewIfNeeded();
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path, fullPage: !target });
  await mkdir(after, { recursive: true });
  await copyFile(path, join(after, `${name}.png`));
}

async function adminPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
  return page;
}

/** An organization by the API: its plan (trial or paid) when given, and its development instances. */
async function customer(slug: string, name: string, plan?: { id: string; trial: boolean }, instances = 0) {
  const call = as(t, admin);
  const made = await call('POST', '/api/v1/organizations', { slug, name });
  expect(made.statusCode, made.body).toBe(201);
  const organization = made.json<{ organization: { id: string; slug: string } }>().organization;
  if (plan) {
    const given = await call('POST', `/api/v1/organizations/${organization.id}/subscription`, {
      planId: plan.id,
      trial: plan.trial,
    });
    expect(given.statusCode, given.body).toBe(201);
  }
  const ids: string[] = [];
  if (instances > 0) {
    const project = await call('POST', '/api/v1/projects', { organization: slug, name: 'erp', odooVersion: '17.0' });
    expect(project.statusCode, project.body).toBe(201);
    for (let i = 1; i <= instances; i++)
      ids.push(await world.madeInstance(project.json().project.id, `dev${i}`, 'development'));
  }
  return { ...organization, instances: ids };
}

const subscriptionOf = async (orgId: string) => {
  const answer = await as(t, admin)('GET', `/api/v1/organizations/${orgId}/subscription`);
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json().subscription as { status: string; planId: string; trialEndsAt: string; suspendedReason: string };
};

const rowOf = (page: Page, slug: string) =>
  page.getByRole('table', { name: 'Customers' }).locator(`tr[data-organization="${slug}"]`);
const slugsShown = (page: Page) =>
  page
    .getByRole('table', { name: 'Customers' })
    .locator('tbody tr[data-organization]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-organization')));

async function openAction(page: Page, name: string, action: string): Promise<Locator> {
  await page.getByRole('button', { name: `Actions for ${name}` }).click();
  await page
    .getByRole('menu', { name: `Actions for ${name}` })
    .getByRole('menuitem', { name: action })
    .click();
  return page.getByRole('dialog');
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-customers-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    {
      MARINA_WEB_DIR: webDir,
      MARINA_NAMESPACE: 'mtmemcustui',
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

describe('the Customers page', { timeout: 180_000 }, () => {
  it('shows totals, charts and rows with the right figures; searches, filters by state and sorts', async () => {
    const starter = await world.makePlan(
      { maxDevelopment: 3, storageMb: 1000 },
      { trialDays: 14, prices: [{ currency: 'EUR', period: 'month', amountMinor: 1990 }] },
    );
    const pro = await world.makePlan({}, { prices: [{ currency: 'USD', period: 'month', amountMinor: 4900 }] });
    const alpha = await customer('fig-alpha', 'Fig Alpha', { id: starter.id, trial: false }, 1);
    await world.measured(alpha.instances[0] ?? '', alpha.id, 850 * world.MB);
    await customer('fig-beta', 'Fig Beta', { id: pro.id, trial: false });
    await customer('fig-gamma', 'Fig Gamma', { id: starter.id, trial: true });
    await customer('fig-delta', 'Fig Delta');

    const page = await adminPage();
    await page.goto(`${baseUrl}/customers?q=fig`);
    const totals = page.getByTestId('customers-totals');
    await rowOf(page, 'fig-delta').waitFor();
    // Totals over the searched set: 4 organizations, 1 instance, 850 MB; MRR of the paid ones only.
    expect(await totals.locator('[data-total="organizations"] .stat-value').textContent()).toBe('4');
    expect(await totals.locator('[data-total="organizations"]').textContent()).toContain(
      '2 active · 1 in trial · 0 suspended',
    );
    expect(await totals.locator('[data-total="instances"] .stat-value').textContent()).toBe('1');
    expect(await totals.locator('[data-total="storage"] .stat-value').textContent()).toBe('850 MB');
    expect(await totals.locator('[data-total="mrr"] [data-currency="EUR"]').textContent()).toBe('€19.90');
    expect(await totals.locator('[data-total="mrr"] [data-currency="USD"]').textContent()).toBe('$49.00');
    const byState = page.getByTestId('customers-by-state');
    expect(await byState.locator('[data-bar="active"]').textContent()).toBe('Active2');
    expect(await byState.locator('[data-bar="trialing"]').textContent()).toBe('Trial1');
    expect(await byState.locator('[data-bar="none"]').textContent()).toBe('No plan1');
    expect(await byState.locator('[data-bar="suspended"]').count()).toBe(0);
    const mrr = page.getByTestId('customers-mrr');
    expect(await mrr.locator('[data-bar="EUR"]').textContent()).toBe('EUR€19.90');
    expect(await mrr.locator('[data-bar="USD"]').textContent()).toBe('USD$49.00');

    const alphaRow = rowOf(page, 'fig-alpha');
    const alphaText = await alphaRow.textContent();
    expect(alphaText).toContain(starter.name);
    expect(alphaText).toContain('850 MB / 1000 MB');
    expect(alphaText).toContain('€19.90');
    expect(await alphaRow.locator('[data-status]').textContent()).toBe('Active');
    expect(await alphaRow.getByRole('progressbar', { name: 'Storage: 85 % of the plan' }).count()).toBe(1);
    expect(await rowOf(page, 'fig-gamma').locator('[data-status]').textContent()).toBe('Trial');
    expect(await rowOf(page, 'fig-delta').locator('[data-status]').textContent()).toBe('No plan');
    await shoot(page, 'K-customers-overview');

    // Sorting by price: ties by slug, organizations without a price last, either way.
    await page.getByRole('button', { name: 'Sort by monthly' }).click();
    await page.waitForURL(/sort=price/);
    await expect.poll(() => slugsShown(page)).toEqual(['fig-alpha', 'fig-gamma', 'fig-beta', 'fig-delta']);
    await page.getByRole('button', { name: 'Sort by monthly, ascending' }).click();
    await page.waitForURL(/dir=desc/);
    await expect.poll(() => slugsShown(page)).toEqual(['fig-beta', 'fig-alpha', 'fig-gamma', 'fig-delta']);
    await page.getByRole('button', { name: 'Sort by organization' }).click();
    await expect.poll(() => slugsShown(page)).toEqual(['fig-alpha', 'fig-beta', 'fig-delta', 'fig-gamma']);

    // Searching narrows the rows and the totals; the state filter too.
    await page.getByLabel('Search').fill('beta');
    await page.waitForURL(/q=beta/);
    await expect.poll(() => slugsShown(page)).toEqual(['fig-beta']);
    expect(await totals.locator('[data-total="organizations"] .stat-value').textContent()).toBe('1');
    await page.getByLabel('Search').fill('fig');
    await expect.poll(() => slugsShown(page)).toHaveLength(4);
    await page.getByLabel('State', { exact: true }).selectOption({ label: 'Trial' });
    await expect.poll(() => slugsShown(page)).toEqual(['fig-gamma']);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('suspends with a reason, resumes, extends the trial, changes the plan, converts: each through its dialog', async () => {
    const starter = await world.makePlan({ maxDevelopment: 3 }, { trialDays: 14 });
    const tiny = await world.makePlan({ maxDevelopment: 1 });
    const pro = await world.makePlan({ maxDevelopment: 10 });
    const org = await customer('act-one', 'Act One', { id: starter.id, trial: true }, 2);
    const page = await adminPage();
    await page.goto(`${baseUrl}/customers?q=act-one`);
    const row = rowOf(page, 'act-one');
    const state = row.locator('[data-status]');
    await row.waitFor();

    // Suspend: the dialog says what happens, wants a reason, and the row and the API follow.
    await page.getByRole('button', { name: 'Actions for Act One' }).click();
    await shoot(page, 'K-customers-menu', page.getByRole('menu'));
    await page.getByRole('menuitem', { name: 'Suspend…' }).click();
    let dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Its 2 instances stop');
    await dialog.getByText('within 30 days').waitFor();
    const suspend = dialog.getByRole('button', { name: 'Suspend' });
    expect(await suspend.isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill('Card declined three times');
    await shoot(page, 'K-customers-suspend', dialog);
    await suspend.click();
    await expect.poll(() => state.textContent()).toBe('Suspended');
    expect(await subscriptionOf(org.id)).toMatchObject({
      status: 'suspended',
      suspendedReason: 'Card declined three times',
    });

    dialog = await openAction(page, 'Act One', 'Resume…');
    await dialog.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => state.textContent()).toBe('Trial');
    expect((await subscriptionOf(org.id)).status).toBe('trialing');

    // Extend the trial: the dialog names the new end; the row shows what the API now says.
    const before = new Date((await subscriptionOf(org.id)).trialEndsAt).getTime();
    dialog = await openAction(page, 'Act One', 'Extend trial…');
    await dialog.getByLabel('Days').fill('5');
    const newEnd = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium' }).format(new Date(before + 5 * DAY_MS));
    expect(await dialog.textContent()).toContain(`The trial ends on ${newEnd}`);
    await dialog.getByRole('button', { name: 'Extend trial' }).click();
    await expect
      .poll(async () => new Date((await subscriptionOf(org.id)).trialEndsAt).getTime())
      .toBe(before + 5 * DAY_MS);
    await expect
      .poll(() => row.locator('[data-trial-end]').getAttribute('data-trial-end'))
      .toBe(new Date(before + 5 * DAY_MS).toISOString());

    // A plan it does not fit: refused, said in the dialog, which stays open; then one that fits.
    dialog = await openAction(page, 'Act One', 'Change plan…');
    await dialog.getByLabel('Plan').selectOption({ label: tiny.name });
    await dialog.getByRole('button', { name: 'Change plan' }).click();
    await dialog.getByRole('alert').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toMatch(/development/i);
    await shoot(page, 'K-customers-plan-refused', dialog);
    expect((await subscriptionOf(org.id)).planId).toBe(starter.id);
    await dialog.getByLabel('Plan').selectOption({ label: pro.name });
    await dialog.getByRole('button', { name: 'Change plan' }).click();
    await expect.poll(async () => (await subscriptionOf(org.id)).planId).toBe(pro.id);
    await expect.poll(() => row.textContent()).toContain(pro.name);

    dialog = await openAction(page, 'Act One', 'Convert to paid…');
    await dialog.getByRole('button', { name: 'Convert to paid' }).click();
    await expect.poll(() => state.textContent()).toBe('Active');
    expect((await subscriptionOf(org.id)).status).toBe('active');

    // Every action is in the organization's audit trail.
    const actions = await t.db
      .selectFrom('audit_events')
      .select('action')
      .where('category', '=', 'subscription')
      .where('target_id', '=', org.id)
      .orderBy('id')
      .execute();
    expect(actions.map((a) => a.action)).toEqual([
      'subscription.create',
      'subscription.suspend',
      'subscription.resume',
      'subscription.extend_trial',
      'subscription.change_plan',
      'subscription.convert',
    ]);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('opens an organization as its members see it, with a reason', async () => {
    const org = await customer('open-me', 'Open Me');
    const page = await adminPage();
    await page.goto(`${baseUrl}/customers?q=open-me`);
    const dialog = await openAction(page, 'Open Me', 'Open as the organization…');
    const open = dialog.getByRole('button', { name: 'Open as the organization' });
    expect(await open.isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill('Support request 4711');
    await open.click();
    await page.waitForURL(`${baseUrl}/organizations/open-me`);
    // The portal's banner says whose view this is (built by the portal's engineer), and /me agrees.
    const banner = page.getByTestId('impersonation-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('Viewing Open Me');
    const me = (await page.evaluate(async () => (await fetch('/api/v1/me')).json())) as {
      impersonating: string | null;
    };
    expect(me.impersonating).toBe(org.id);
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', '=', 'organization.impersonate')
      .where('target_id', '=', org.id)
      .execute();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]?.details)).toContain('Support request 4711');
    await shoot(page, 'K-customers-open-as');
    await page.context().close();
  });

  it('is not there for anyone but platform admins, and the API refuses them', async () => {
    await customer('outsider', 'Outsider');
    const owner = await memberBrowser(t, admin, 'outsider', 'owner@outsider.test', 'owner');
    expect((await as(t, owner)('GET', '/api/v1/admin/customers')).statusCode).toBe(403);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('Email').fill('owner@outsider.test');
    await page.getByLabel('Password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
    await page.goto(`${baseUrl}/customers`);
    await page.getByText('This page does not exist').waitFor();
    expect(await page.getByRole('table', { name: 'Customers' }).count()).toBe(0);
    // Nor the lifecycle settings: Settings shows them only "You".
    await page.goto(`${baseUrl}/settings?tab=lifecycle`);
    await page.getByRole('tab', { name: 'API tokens', selected: true }).waitFor();
    expect(await page.getByRole('tab', { name: 'Lifecycle' }).count()).toBe(0);
    expect(await page.getByRole('tablist', { name: 'Customers' }).count()).toBe(0);
    await context.close();
  });
});

describe('Settings → Lifecycle', { timeout: 120_000 }, () => {
  it('groups the sections, and saves the grace period and the final backups’ days', async () => {
    const page = await adminPage();
    await page.goto(`${baseUrl}/settings?tab=lifecycle`);
    // Grouped: each group a tablist named by its heading, holding its sections.
    await page.getByRole('tab', { name: 'Lifecycle', selected: true }).waitFor();
    const groups = page.getByRole('tablist');
    expect(await groups.evaluateAll((lists) => lists.map((l) => l.getAttribute('aria-labelledby')))).toEqual([
      'settings-group-you',
      'settings-group-platform',
      'settings-group-customers',
    ]);
    expect(await page.getByRole('tablist', { name: 'You' }).getByRole('tab').allTextContents()).toEqual([
      'API tokens',
      'Password',
    ]);
    const customers = page.getByRole('tablist', { name: 'Customers' });
    expect(await customers.getByRole('tab', { name: 'Lifecycle', selected: true }).count()).toBe(1);
    expect(await customers.getByRole('tab', { name: 'Plans' }).count()).toBe(1);
    const grace = page.getByLabel('Grace period (days)');
    await expect.poll(() => grace.inputValue()).toBe('30');
    expect(await page.getByLabel('Final backups kept (days)').inputValue()).toBe('90');

    // Out of range: the API's refusal at the field, nothing stored.
    await grace.fill('0');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.field-error').first().waitFor();
    expect((await as(t, admin)('GET', '/api/v1/settings/lifecycle')).json().lifecycle.graceDays).toBe(30);

    await grace.fill('45');
    await page.getByLabel('Final backups kept (days)').fill('120');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('The lifecycle settings are saved.').waitFor();
    expect((await as(t, admin)('GET', '/api/v1/settings/lifecycle')).json()).toEqual({
      lifecycle: { graceDays: 45, finalBackupDays: 120 },
    });
    await shoot(page, 'K-settings-lifecycle');

    // The links open the other customer sections in place.
    await page.getByRole('button', { name: 'Plans', exact: true }).click();
    await page.waitForURL(/tab=plans/);
    expect(await page.getByRole('tab', { name: 'Plans', selected: true }).count()).toBe(1);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});

describe('on a phone', { timeout: 120_000 }, () => {
  it('Customers and Settings fit the width: the section list above the section, the table as cards', async () => {
    await customer('phone-co', 'Phone Co');
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      locale: 'en-US',
      hasTouch: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    const overflow = () => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');

    await page.goto(`${baseUrl}/customers?q=phone-co`);
    await rowOf(page, 'phone-co').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shoot(page, 'K-customers-phone');

    await page.goto(`${baseUrl}/settings?tab=lifecycle`);
    await page.getByLabel('Grace period (days)').waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    // The list comes first, the open section under it.
    const list = await page.getByRole('navigation', { name: 'Settings sections' }).boundingBox();
    const panel = await page.getByRole('tabpanel').boundingBox();
    expect(list && panel && list.y + list.height <= panel.y).toBe(true);
    await shoot(page, 'K-settings-phone');
    await context.close();
  });
});

import { createHmac } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import { adminBrowser, as, createTestApp, memberBrowser, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import { makeOrganizationWithAdmin } from '../helpers/factories.js';
import { insertInstances } from '../helpers/series-seed.js';

/**
 * Issue #15's screens in Chromium: an owner adds a signed webhook (a capturing server on loopback),
 * sees its secret once, sends a test; switches and tunes a rule (a value out of bounds shows the
 * API's reason) and finds it stored after a reload; a viewer sees the incidents but no control;
 * the instance's Uptime tab shows the month's availability from seeded day rollups and incidents.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = '/work/screens';
const PHONE = { width: 390, height: 844 };
let t: TestApp;
let browser: Browser;
let baseUrl: string;
let webDir: string;
let hookServer: Server;
let instanceId = '';
let quietId = '';
const hooks: { body: string; headers: IncomingHttpHeaders }[] = [];
const pageErrors: string[] = [];

const day = (d: Date) => d.toISOString().slice(0, 10);
const utc = (year: number, month: number, date: number, hours = 0) => new Date(Date.UTC(year, month, date, hours));
/** The previous month's expected availability (the API's thousandths, the UI's cut to hundredths). */
let previousMonth = { key: '', label: '', availability: '' };
let currentAvailability = '';

function shown(value: number): string {
  return `${(Math.floor(Math.round(value * 1000) / 10) / 100).toFixed(2)} %`;
}
const availability = (checks: number, failures: number) => Math.round(((checks - failures) / checks) * 100_000) / 1000;

async function seedUptime(organizationId: string): Promise<void> {
  const now = t.clock.now();
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  // The previous month, every day checked once a minute, one bad day (144 failed minutes) and its incident.
  const previousDays = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const rows: { instance_id: string; day: string; checks: number; failures: number; down_seconds: number }[] = [];
  for (let d = 1; d <= previousDays; d++) {
    const failures = d === 10 ? 144 : 0;
    rows.push({
      instance_id: instanceId,
      day: day(utc(year, month - 1, d)),
      checks: 1440,
      failures,
      down_seconds: failures * 60,
    });
  }
  // This month so far: a few failed checks today, an incident still open.
  for (let d = 1; d <= now.getUTCDate(); d++) {
    const failures = d === now.getUTCDate() ? 5 : 0;
    rows.push({
      instance_id: instanceId,
      day: day(utc(year, month, d)),
      checks: 1440,
      failures,
      down_seconds: failures * 60,
    });
  }
  await t.db.insertInto('uptime_days').values(rows).execute();
  const previous = utc(year, month - 1, 1);
  previousMonth = {
    key: previous.toISOString().slice(0, 7),
    label: new Intl.DateTimeFormat('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(previous),
    availability: shown(availability(1440 * previousDays, 144)),
  };
  currentAvailability = shown(availability(1440 * now.getUTCDate(), 5));
  const opened = utc(year, month - 1, 10, 3);
  await t.db
    .insertInto('incidents')
    .values([
      {
        instance_id: instanceId,
        organization_id: organizationId,
        kind: 'instance_down',
        subject: instanceId,
        opened_at: opened,
        resolved_at: new Date(opened.getTime() + 144 * 60_000),
        details: JSON.stringify({
          failed: 'proxy',
          at: opened.toISOString(),
          direct: { status: 200, error: null, ms: 12 },
          proxy: { status: 502, error: 'Bad gateway', ms: 31 },
        }),
        firing_sent: true,
      },
      {
        instance_id: instanceId,
        organization_id: organizationId,
        kind: 'instance_down',
        subject: instanceId,
        opened_at: new Date(now.getTime() - 5 * 60_000),
        resolved_at: null,
        details: JSON.stringify({
          failed: 'both',
          at: now.toISOString(),
          direct: { status: 0, error: 'connect ECONNREFUSED 127.0.0.1:8069', ms: 2 },
          proxy: { status: 502, error: 'Bad gateway', ms: 30 },
        }),
        firing_sent: true,
      },
    ])
    .execute();
}

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      hooks.push({ body, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-alerts-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    { MARINA_WEB_DIR: webDir, MARINA_NAMESPACE: 'mtalertsui' },
    { runtime: () => new MemoryRuntime({ images: [] }), alertsAllowHttp: true },
  );
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const platform = await adminBrowser(t);
  // The loopback receiver is allowed the way a platform admin allows an internal range.
  const allowed = await as(t, platform)('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
  expect(allowed.statusCode, allowed.body).toBe(200);
  const acme = await makeOrganizationWithAdmin(t, platform, {
    slug: 'acme',
    name: 'Acme',
    email: 'owner@acme.test',
    role: 'owner',
  });
  await memberBrowser(t, acme.admin, 'acme', 'viewer@acme.test', 'viewer');
  const made = await insertInstances(t.db, 1, { organizationId: acme.organization.id, prefix: 'shop' });
  instanceId = made.instanceIds[0] as string;
  const quiet = await insertInstances(t.db, 1, { organizationId: acme.organization.id, prefix: 'quiet' });
  quietId = quiet.instanceIds[0] as string;
  await t.db.updateTable('instances').set({ stage: 'production' }).where('id', '=', instanceId).execute();
  await seedUptime(acme.organization.id);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await new Promise((resolve) => hookServer?.close(resolve));
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

async function signedIn(email: string, phone = false): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(
    phone
      ? { viewport: PHONE, isMobile: true, hasTouch: true, locale: 'en-US' }
      : { viewport: { width: 1440, height: 1000 }, locale: 'en-US' },
  );
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await signInPage(page, baseUrl, email, STRONG_PASSWORD);
  return { context, page };
}

async function shoot(page: Page, name: string, fullPage = true): Promise<void> {
  for (const dismiss of await page.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all()) {
    await dismiss.click({ timeout: 2000 }).catch(() => undefined);
  }
  await page.screenshot({ path: join(shots, `alerts-${name}.png`), fullPage });
}

/** The page is no wider than the phone: nothing scrolls sideways. */
async function expectNoSideways(page: Page, name: string): Promise<void> {
  // A string: the test's TypeScript knows no DOM.
  const widths = await page.evaluate(`({
    document: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    window: window.innerWidth,
  })`);
  expect(widths, name).toEqual({ document: PHONE.width, body: PHONE.width, window: PHONE.width });
}

const ruleRow = (page: Page, rule: string) => page.locator(`li[data-rule="${rule}"]`);

describe('alerts and uptime in the browser', { timeout: 180_000 }, () => {
  it('lets an owner add a signed webhook, see its secret once, test it, and tune a rule that stays tuned', async () => {
    const { context, page } = await signedIn('owner@acme.test');
    // The organization's page counts the open incident and links to the Alerts page, as the sidebar does.
    await expect.poll(() => page.getByTestId('open-incidents').textContent()).toBe('1');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL(`${baseUrl}/organizations/acme/alerts`);
    await page.getByRole('heading', { name: 'No channels yet' }).waitFor();

    // A generic webhook to the loopback receiver: the secret comes back once.
    await page.getByRole('button', { name: 'Add channel' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add an alert channel' });
    await dialog.getByLabel('Kind').selectOption('webhook');
    const port = (hookServer.address() as AddressInfo).port;
    await dialog.getByLabel('Webhook URL').fill(`http://127.0.0.1:${port}/marina/secret-path`);
    await dialog.getByLabel('Name').fill('ops hook');
    await dialog.getByRole('button', { name: 'Add channel' }).click();
    const added = page.getByRole('dialog', { name: 'Channel added' });
    await added.getByText('it is shown once').waitFor();
    const secret = await added.getByLabel('Webhook signing secret').inputValue();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    await shoot(page, 'secret-once');
    await added.getByRole('button', { name: 'I have copied it' }).click();
    const row = page.getByRole('table', { name: 'Alert channels' }).locator('tr', { hasText: 'ops hook' });
    await row.waitFor();
    // The list shows the URL up to its origin only.
    expect(await row.textContent()).not.toContain('secret-path');

    // The test button reaches the receiver, signed with that secret, and says so.
    await row.getByRole('button', { name: 'Send test to ops hook' }).click();
    await page.getByText(`Test message delivered to ops hook (HTTP 204).`).waitFor();
    const hook = hooks.shift();
    expect(JSON.parse(hook?.body ?? '{}')).toMatchObject({ event: 'test' });
    expect(String(hook?.headers['x-marina-signature'])).toContain(
      createHmac('sha256', secret)
        .update(hook?.body ?? '')
        .digest('hex'),
    );

    // Pausing the channel is one click on its switch.
    const channelSwitch = page.getByRole('switch', { name: 'ops hook enabled' });
    await channelSwitch.click();
    await expect.poll(() => channelSwitch.getAttribute('aria-checked')).toBe('false');

    // A rule: off, then a threshold out of bounds (the API's reason shows), then a good one.
    const memory = ruleRow(page, 'memory_high');
    await memory.getByRole('switch', { name: 'Memory near its limit enabled' }).click();
    await expect
      .poll(() => memory.getByRole('switch', { name: 'Memory near its limit enabled' }).getAttribute('aria-checked'))
      .toBe('false');
    await memory.getByLabel('Share of the limit').fill('20');
    await memory.getByRole('button', { name: 'Save Memory near its limit' }).click();
    await memory.getByText('Share of the limit is a whole number from 50 to 100.').waitFor();
    await shoot(page, 'rule-error');
    await memory.getByLabel('Share of the limit').fill('80');
    await memory.getByLabel('Repeat every').fill('60');
    await memory.getByRole('button', { name: 'Save Memory near its limit' }).click();
    await expect.poll(() => memory.getByRole('button', { name: 'Save Memory near its limit' }).isDisabled()).toBe(true);
    expect(await memory.locator('.field-error').count()).toBe(0);

    // After a reload: stored, and the secret is nowhere on the page.
    await page.reload();
    await ruleRow(page, 'memory_high').waitFor();
    const reloaded = ruleRow(page, 'memory_high');
    expect(await reloaded.getByRole('switch').getAttribute('aria-checked')).toBe('false');
    expect(await reloaded.getByLabel('Share of the limit').inputValue()).toBe('80');
    expect(await reloaded.getByLabel('Repeat every').inputValue()).toBe('60');
    expect(await ruleRow(page, 'backup_stale').getByRole('switch').getAttribute('aria-checked')).toBe('true');
    expect(await page.getByRole('switch', { name: 'ops hook enabled' }).getAttribute('aria-checked')).toBe('false');
    expect(await page.content()).not.toContain(secret);
    const stored = await t.db.selectFrom('alert_rules').selectAll().where('rule', '=', 'memory_high').execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]?.enabled).toBe(false);
    expect(stored[0]?.settings).toMatchObject({ percent: 80, minutes: 10, repeatMinutes: 60 });

    // The incidents: the open one first, with its instance and what failed.
    const incidents = page.getByRole('table', { name: 'Incidents' });
    const first = incidents.locator('tbody tr').first();
    expect(await first.getAttribute('data-open')).toBe('true');
    expect(await first.textContent()).toContain('Failed through the proxy and directly');
    expect(await first.getByRole('link', { name: 'shop' }).getAttribute('href')).toBe(
      `/instances/${instanceId}?tab=uptime`,
    );
    expect(await incidents.locator('tbody tr').nth(1).textContent()).toContain('2h 24m');
    await page.mouse.move(0, 0);
    await shoot(page, 'page-desktop');
    await context.close();
  });

  it('shows a viewer the incidents and no control', async () => {
    const { context, page } = await signedIn('viewer@acme.test');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL(`${baseUrl}/organizations/acme/alerts`);
    await page.getByRole('table', { name: 'Incidents' }).locator('tbody tr').first().waitFor();
    await page.getByText('owners and admins choose where alerts are sent').waitFor();
    expect(await page.locator('[data-permission="alerts.manage"]').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Add channel' }).count()).toBe(0);
    expect(await page.getByRole('table', { name: 'Alert channels' }).count()).toBe(0);
    expect(await page.getByRole('switch').count()).toBe(0);
    await shoot(page, 'viewer');
    await context.close();
  });

  it("shows the instance's month availability, each day, and the incidents with what failed", async () => {
    const { context, page } = await signedIn('owner@acme.test');
    await page.goto(`${baseUrl}/instances/${instanceId}`);
    await page.getByRole('tab', { name: 'Uptime' }).click();
    const panel = page.locator('#panel-uptime');
    await expect.poll(() => panel.getByTestId('uptime-availability').textContent()).toBe(currentAvailability);
    expect(await panel.getByTestId('uptime-current').textContent()).toBe(currentAvailability);
    expect(await panel.getByRole('button', { name: 'Next ›' }).isDisabled()).toBe(true);
    await shoot(page, 'uptime-current');

    await panel.getByRole('button', { name: '‹ Previous' }).click();
    await expect.poll(() => panel.getByTestId('uptime-month').textContent()).toBe(previousMonth.label);
    await expect.poll(() => panel.getByTestId('uptime-availability').textContent()).toBe(previousMonth.availability);
    expect(await panel.getByTestId('uptime-current').textContent()).toBe(currentAvailability);
    // One bar per day; the bad day in red, the others green.
    const bad = panel.locator(`li[data-day="${previousMonth.key}-10"]`);
    expect(await bad.getAttribute('data-tone')).toBe('bad');
    expect(await panel.locator('li.uptime-day[data-tone="good"]').count()).toBeGreaterThan(26);
    const incident = panel.getByRole('table', { name: 'Incidents' }).locator('tbody tr');
    expect(await incident.count()).toBe(1);
    const text = await incident.textContent();
    expect(text).toContain('Instance down');
    expect(text).toContain('Proxy: HTTP 502: Bad gateway');
    expect(text).toContain('2h 24m');
    await page.mouse.move(0, 0);
    await shoot(page, 'uptime-previous');

    // A staging instance is never checked: the tab says so instead of a 100 %.
    await page.goto(`${baseUrl}/instances/${quietId}?tab=uptime`);
    await page.getByRole('heading', { name: 'No checks yet' }).waitFor();
    await page.getByText('Only running production instances are checked').waitFor();
    await page.getByText('This one is staging: it is not checked.').waitFor();
    expect(await page.getByTestId('uptime-availability').textContent()).toBe('—');
    await shoot(page, 'uptime-empty');
    await context.close();
  });

  it('fits a phone: the Alerts page and the Uptime tab do not scroll sideways', async () => {
    const { context, page } = await signedIn('owner@acme.test', true);
    await page.goto(`${baseUrl}/organizations/acme/alerts`);
    await ruleRow(page, 'memory_high').waitFor();
    await page.getByRole('table', { name: 'Incidents' }).waitFor();
    await expectNoSideways(page, 'alerts page');
    await shoot(page, 'page-phone');
    await shoot(page, 'page-phone-top', false);
    await page.goto(`${baseUrl}/instances/${instanceId}?tab=uptime`);
    await page.getByTestId('uptime-availability').waitFor();
    await page.getByRole('button', { name: '‹ Previous' }).click();
    await expect.poll(() => page.getByTestId('uptime-month').textContent()).toBe(previousMonth.label);
    await page.getByRole('table', { name: 'Incidents' }).waitFor();
    await expectNoSideways(page, 'uptime tab');
    await shoot(page, 'uptime-phone');
    await context.close();
    expect(pageErrors).toEqual([]);
  });
});

import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
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
import { followJob } from '../helpers/jobs.js';
import { root } from '../helpers/process.js';
import { type S3TestServer, startS3Server } from '../helpers/s3-server.js';

/**
 * Every page of the web UI on a phone (390 × 844, touch), in a real Chromium against a real Marina
 * (Docker, PostgreSQL, the Odoo stand-in) holding realistic data: an instance with a long name,
 * backups, an S3 destination and a schedule, jobs, audit events and logs. No page may scroll
 * sideways, the instance's status and URL stay on screen, the navigation opens from a "Menu"
 * button, and what a finger presses is at least 44 px tall.
 */
const shots = process.env.MARINA_SHOTS ?? '/tmp/marina-shots';
const STEP_TIMEOUT = 90_000;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1440, height: 900 };
/** The smallest touch target (WCAG 2.5.5, Apple HIG). */
const TOUCH = 44;
/** 30 characters: the longest name an instance may have, in a project with a long name too. */
const LONG_NAME = 'customer-portal-staging-eu-02';
const LONG_PROJECT = 'enterprise-resource-planning-westeurope';

const namespace = testNamespace();
let t: TestApp;
let admin: Session;
let baseUrl: string;
let instance: { id: string; url: string; name: string; projectId: string };
let jobId: string;
let s3: S3TestServer;
let webDir: string;
let browser: Browser;
let phone: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

const api = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) => as(t, admin)(method, url, body);

/** The pages a signed-in platform admin reaches, each with what shows it is loaded. */
function signedInPages(): { name: string; path: () => string; ready: string }[] {
  return [
    { name: 'organizations', path: () => '/organizations', ready: 'h1' },
    { name: 'organization', path: () => '/organizations/acme', ready: 'h1' },
    { name: 'organization-destinations', path: () => '/organizations/acme/destinations', ready: 'h1' },
    { name: 'instances', path: () => '/instances', ready: `text=${LONG_NAME}` },
    { name: 'project', path: () => `/projects/${instance.projectId}`, ready: 'h1' },
    { name: 'instance-new', path: () => '/instances/new', ready: 'h1' },
    { name: 'instance-overview', path: () => `/instances/${instance.id}`, ready: '[data-testid="instance-status"]' },
    { name: 'instance-backups', path: () => `/instances/${instance.id}?tab=backups`, ready: '#panel-backups' },
    {
      name: 'instance-repositories',
      path: () => `/instances/${instance.id}?tab=repositories`,
      ready: '#panel-repositories',
    },
    { name: 'instance-modules', path: () => `/instances/${instance.id}?tab=modules`, ready: '#panel-modules' },
    { name: 'instance-logs', path: () => `/instances/${instance.id}/logs`, ready: '[data-testid="log-entry"]' },
    { name: 'instance-clone', path: () => `/instances/${instance.id}/clone`, ready: 'h1' },
    { name: 'clone', path: () => '/clone', ready: 'h1' },
    { name: 'jobs', path: () => '/jobs', ready: 'table' },
    { name: 'job', path: () => `/jobs/${jobId}`, ready: 'h1' },
    { name: 'backups', path: () => '/backups', ready: 'h1' },
    { name: 'backups-history', path: () => '/backups/history', ready: 'h1' },
    { name: 'destinations', path: () => '/destinations', ready: 'h1' },
    { name: 'import', path: () => '/imports/new', ready: 'h1' },
    { name: 'logs', path: () => '/logs', ready: 'h1' },
    { name: 'logs-marina', path: () => '/logs/marina', ready: 'h1' },
    { name: 'audit', path: () => '/audit', ready: '[data-testid="audit-action"]' },
    ...['tokens', 'password', 'hosts', 'email', 'git', 'imports', 'outbound', 'users'].map((tab) => ({
      name: `settings-${tab}`,
      path: () => (tab === 'tokens' ? '/settings' : `/settings?tab=${tab}`),
      ready: `#panel-${tab}`,
    })),
    { name: 'not-found', path: () => '/no-such-page', ready: 'text=This page does not exist' },
  ];
}

/** Widths wider than the window, and the elements that stick out on the right (for the message). */
async function sideways(target: Page): Promise<{ document: number; body: number; window: number; wide: string[] }> {
  return target.evaluate(`(() => {
    const width = ${PHONE.width};
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.right <= width + 1) continue;
      // Inside a scroller of its own (a wrapper that scrolls, a clipped parent): not the page's problem.
      let clipped = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (style.overflowX !== 'visible' && p.getBoundingClientRect().right <= width + 1) { clipped = true; break; }
      }
      if (clipped) continue;
      const name = el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      wide.push(name + ' → ' + Math.round(box.right));
      if (wide.length > 8) break;
    }
    return {
      document: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
      window: window.innerWidth,
      wide,
    };
  })()`);
}

/** Visible controls shorter than a finger: buttons, tabs, form fields and the navigation's links. */
async function smallTargets(target: Page): Promise<string[]> {
  return target.evaluate(`(() => {
    const selector = [
      'button', '[role="tab"]', 'a.btn', 'select', 'textarea',
      'input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"]):not([type="range"])',
      'nav[aria-label="Main"] a',
    ].join(',');
    const small = [];
    for (const el of document.querySelectorAll(selector)) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || el.closest('[hidden],[aria-hidden="true"]')) continue;
      // The fold toggles of the log sit on its grid of 20 px lines (the whole line is the target).
      if (el.classList.contains('log-fold-toggle')) continue;
      if (box.height < ${TOUCH} - 0.5) {
        const label = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('name') || el.tagName).trim().slice(0, 40);
        small.push(el.tagName.toLowerCase() + ' "' + label + '" ' + Math.round(box.height) + 'px');
      }
    }
    return small;
  })()`);
}

async function snap(name: string, target: Page = page): Promise<void> {
  for (const dismiss of await target.locator('.toasts').getByRole('button', { name: 'Dismiss' }).all()) {
    await dismiss.click({ timeout: 2000 }).catch(() => undefined);
  }
  await target.evaluate('window.scrollTo(0, 0)');
  await target.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function open(target: Page, path: string, ready: string): Promise<void> {
  await target.goto(`${baseUrl}${path}`);
  await target.locator(ready).first().waitFor();
  // Lazy chunks, charts and the first live lines settle.
  await target.waitForTimeout(600);
}

/** Asserts the page fits the phone: nothing wider than the window, controls a finger can press. */
async function expectFitsPhone(name: string, target: Page = page): Promise<void> {
  const widths = await sideways(target);
  // A phone's browser zooms out to show a page wider than itself: the window grows with the page.
  expect(widths.window, `${name}: the page is wider than the phone; too wide: ${widths.wide.join(', ')}`).toBe(
    PHONE.width,
  );
  expect(
    widths.document,
    `${name}: the page scrolls sideways; too wide: ${widths.wide.join(', ')}`,
  ).toBeLessThanOrEqual(PHONE.width);
  expect(widths.body, `${name}: the body scrolls sideways`).toBeLessThanOrEqual(PHONE.width);
  expect(await smallTargets(target), `${name}: touch targets under ${TOUCH} px`).toEqual([]);
}

beforeAll(async () => {
  await requireDocker();
  await mkdir(shots, { recursive: true });
  s3 = await startS3Server();
  // A copy of the built UI: a rebuild of dist/web while the pages load would break them.
  webDir = await mkdtemp(join(tmpdir(), 'marina-phone-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  const marina = await startDockerMarina(namespace, {
    MARINA_WEB_DIR: webDir,
    MARINA_ODOO_17_IMAGE: TEST_IMAGES.standin,
    MARINA_SCHEDULER_INTERVAL_S: '3600',
  });
  ({ t, admin, baseUrl } = marina);
  const provisioned = await provisionInstance(marina, { project: LONG_PROJECT, name: LONG_NAME });
  instance = (await api('GET', `/api/v1/instances/${provisioned.instance.id}`)).json().instance;

  // A backup, an S3 destination on loopback, a schedule copying there, audit events and jobs.
  expect((await api('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] })).statusCode).toBe(200);
  const acme = (await api('GET', '/api/v1/organizations/acme')).json().organization;
  const destination = await api('POST', '/api/v1/destinations', {
    organizationId: acme.id,
    name: 'offsite-s3-frankfurt-primary',
    kind: 's3',
    s3: {
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      prefix: 'marina/phone',
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
  });
  expect(destination.statusCode, destination.body).toBe(201);
  const destinationId = destination.json().destination.id;
  const schedule = await api('PUT', `/api/v1/instances/${instance.id}/schedule`, {
    spec: { kind: 'daily', time: '02:00', timeZone: 'Europe/Brussels' },
    destinationIds: [destinationId],
  });
  expect(schedule.statusCode, schedule.body).toBe(200);
  const backup = await api('POST', `/api/v1/instances/${instance.id}/backups`, {
    kind: 'full',
    format: 'native',
    destinationIds: [destinationId],
  });
  expect(backup.statusCode, backup.body).toBe(202);
  jobId = backup.json().job.id;
  await followJob(baseUrl, marina.headers, jobId, 120_000);
  await api('POST', '/api/v1/organizations', { slug: 'northwind-traders-international', name: 'Northwind Traders' });

  browser = await launchChromium();
  phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, locale: 'en-US' });
  page = await phone.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await removeNamespace(namespace);
  await s3?.stop();
  if (webDir) await rm(webDir, { recursive: true, force: true });
}, 120_000);

describe('the web UI on a 390 px phone', () => {
  for (const [name, path, ready] of [
    ['login', '/login', 'button[type="submit"]'],
    ['setup', '/setup', 'h1'],
    ['invite', '/invite', 'h1'],
  ] as const) {
    it(
      `fits the ${name} page (signed out) on the phone`,
      async () => {
        await open(page, path, ready);
        await snap(`phone-${name}`);
        await expectFitsPhone(name);
      },
      STEP_TIMEOUT,
    );
  }

  it(
    'opens the navigation from a Menu button instead of an icon rail',
    async () => {
      await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
      const menu = page.getByRole('button', { name: 'Menu' });
      await menu.waitFor({ timeout: 5000 });
      const nav = page.getByRole('navigation', { name: 'Main' });
      // Closed, the navigation takes no room beside the page.
      const content = await page.locator('main').boundingBox();
      expect(content?.x ?? -1).toBeLessThan(24);
      expect(await menu.getAttribute('aria-expanded')).toBe('false');
      await menu.click();
      expect(await menu.getAttribute('aria-expanded')).toBe('true');
      const jobs = nav.getByRole('link', { name: 'Jobs' });
      await jobs.waitFor();
      // The drawer slides in (0.2 s): wait until it is all in the window.
      await expect
        .poll(async () => {
          const box = await jobs.boundingBox();
          return box !== null && box.x >= 0 && box.x + box.width <= PHONE.width;
        })
        .toBe(true);
      // The labels are shown, not only icons.
      expect(await jobs.getByText('Jobs', { exact: true }).isVisible()).toBe(true);
      await snap('phone-menu-open');
      await expectFitsPhone('menu open');
      await jobs.click();
      await page.waitForURL(`${baseUrl}/jobs`);
      // Following a link closes the drawer.
      await expect.poll(async () => menu.getAttribute('aria-expanded')).toBe('false');
      await page.keyboard.press('Escape');
    },
    STEP_TIMEOUT,
  );

  it(
    "keeps the instance's status and URL on screen",
    async () => {
      await open(page, `/instances/${instance.id}`, '[data-testid="instance-status"]');
      for (const locator of [
        page.getByTestId('instance-status').first(),
        page.locator('.page-header').getByRole('link', { name: instance.url }),
      ]) {
        const box = await locator.boundingBox();
        expect(box, 'visible').not.toBeNull();
        if (!box) continue;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
      }
      await open(page, '/instances', `text=${LONG_NAME}`);
      const status = page.getByTestId('instance-status').first();
      const box = await status.boundingBox();
      expect(box && box.x + box.width <= PHONE.width, 'status in the instances list').toBe(true);
    },
    STEP_TIMEOUT,
  );

  it(
    'wraps log lines instead of scrolling them sideways',
    async () => {
      await open(page, `/instances/${instance.id}/logs`, '[data-testid="log-entry"]');
      const overflowing = await page.evaluate(`(() => {
        const viewer = document.querySelector('[data-testid="log-viewer"]');
        const out = [];
        for (const el of viewer ? viewer.querySelectorAll('*') : []) {
          // A visually hidden label is 1 px wide on purpose.
          if (el.clientWidth <= 1) continue;
          if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') out.push(el.className);
        }
        return out;
      })()`);
      expect(overflowing, 'log elements that scroll sideways').toEqual([]);
      await snap('phone-instance-logs-wrapped');

      // The Requests tab (its tables of slow requests) fits too.
      await page.getByRole('tab', { name: /^Requests/ }).click();
      await page.waitForTimeout(500);
      await snap('phone-instance-logs-requests');
      await expectFitsPhone('requests');
    },
    STEP_TIMEOUT,
  );

  for (const visit of signedInPages()) {
    it(
      `fits ${visit.name} on the phone`,
      async () => {
        await open(page, visit.path(), visit.ready);
        await snap(`phone-${visit.name}`);
        await expectFitsPhone(visit.name);
      },
      STEP_TIMEOUT,
    );
  }

  // Dialogs, and the schedule editor that opens in place; `shows` is what appears.
  for (const [name, path, ready, button, shows] of [
    ['dialog-backup', '?tab=backups', '#panel-backups', 'Back up now', 'dialog'],
    ['schedule-editor', '?tab=backups', '#panel-backups', 'Edit schedule', 'form.schedule-form'],
    ['dialog-destination', '/destinations', 'h1', 'Add destination', 'dialog'],
    ['dialog-organization', '/organizations', 'h1', 'New organization', 'dialog'],
  ] as const) {
    it(
      `fits what "${button}" opens on the phone`,
      async () => {
        await open(page, path.startsWith('?') ? `/instances/${instance.id}${path}` : path, ready);
        await page.getByRole('button', { name: button }).first().click();
        const opened = page.locator(shows);
        await opened.waitFor();
        await page.waitForTimeout(300);
        const box = await opened.boundingBox();
        expect(box && box.x >= 0 && box.x + box.width <= PHONE.width, `${name} within the window`).toBe(true);
        if (shows === 'dialog') {
          await page.screenshot({ path: join(shots, `phone-${name}.png`) });
        } else {
          await snap(`phone-${name}`);
        }
        await expectFitsPhone(name);
        if (shows === 'dialog') {
          await page.keyboard.press('Escape');
          await opened.waitFor({ state: 'detached' });
        }
      },
      STEP_TIMEOUT,
    );
  }

  it(
    'turns tables into cards: a label beside every value',
    async () => {
      await open(page, '/jobs', 'table');
      const row = page.locator('table tbody tr').first();
      const header = await page.locator('table thead').first().boundingBox();
      // The heading row is hidden: each cell names its column itself.
      expect(header === null || header.height <= 1).toBe(true);
      const labels = await row.locator('td[data-label]').count();
      expect(labels).toBeGreaterThan(1);
    },
    STEP_TIMEOUT,
  );

  it(
    'still shows the desktop layout at 1440 px',
    async () => {
      const desktop = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
      try {
        const wide = await desktop.newPage();
        await signInPage(wide, baseUrl, 'admin@example.com', STRONG_PASSWORD);
        for (const [name, path, ready] of [
          ['instances', '/instances', `text=${LONG_NAME}`],
          ['instance-overview', `/instances/${instance.id}`, '[data-testid="instance-status"]'],
          ['jobs', '/jobs', 'table'],
          ['instance-logs', `/instances/${instance.id}/logs`, '[data-testid="log-entry"]'],
          ['settings-users', '/settings?tab=users', '#panel-users'],
        ] as const) {
          await open(wide, path, ready);
          await snap(`phone-1440-${name}`, wide);
        }
        // No Menu button on a wide screen: the sidebar shows.
        expect(await wide.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false);
        expect(
          await wide.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).isVisible(),
        ).toBe(true);
        // Tables keep their heading row.
        await open(wide, '/jobs', 'table');
        expect(await wide.locator('table thead').first().isVisible()).toBe(true);
      } finally {
        await desktop.close();
      }
      expect(pageErrors).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});

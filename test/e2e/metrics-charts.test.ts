import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import {
  adminBrowser,
  as,
  createTestApp,
  type Browser as Session,
  STRONG_PASSWORD,
  type TestApp,
} from '../helpers/app.js';
import { launchChromium, screenshots, signInPage } from '../helpers/browser.js';
import { makeOrganization, makeProject } from '../helpers/factories.js';
import { insertInstances, monthOfSamples } from '../helpers/series-seed.js';

/**
 * Marina's own charts in Chromium: thirty days of samples written through the SeriesStore (and
 * rolled up and pruned by its tick, as the ticker does), the instance's Metrics tab in each range,
 * an instance with no samples yet, and the organization's storage against its quota.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let t: TestApp;
let admin: Session;
let browser: Browser;
let baseUrl: string;
let webDir: string;
let instanceId = '';
let emptyId = '';
const pageErrors: string[] = [];

async function shoot(page: Page, name: string, target?: Locator): Promise<void> {
  await target?.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: !target });
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-metrics-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    { MARINA_WEB_DIR: webDir, MARINA_NAMESPACE: 'mtmemmetrics' },
    { runtime: () => new MemoryRuntime({ images: [] }) },
  );
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await adminBrowser(t);
  const call = as(t, admin);
  const organization = await makeOrganization(call, { slug: 'acme', name: 'Acme' });
  const project = await makeProject(call, { organization: 'acme' });
  const plan = await call('POST', '/api/v1/plans', { slug: 'business', name: 'Business', limits: { storageMb: 500 } });
  expect(plan.statusCode, plan.body).toBe(201);
  await t.db
    .transaction()
    .execute((trx) => t.services.subscriptions.start(trx, organization.id, plan.json().plan.id, { trial: false }));
  const made = await insertInstances(t.db, 2, {
    organizationId: organization.id,
    projectId: project.id,
    prefix: 'main',
  });
  [instanceId, emptyId] = made.instanceIds as [string, string];
  const month = monthOfSamples(instanceId, organization.id, t.clock.now());
  await t.services.seriesStore.record(month);
  // The usage bars above the storage chart read the last measurement: the same figures.
  const last = month.at(-1);
  await t.db
    .insertInto('instance_usage')
    .values({
      instance_id: instanceId,
      organization_id: organization.id,
      database_bytes: last?.databaseBytes ?? 0,
      filestore_bytes: last?.filestoreBytes ?? 0,
    })
    .execute();
  const tick = await t.services.seriesStore.tick();
  expect(tick.rolled).not.toBeNull();
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

/** What the uPlot legend of a chart says under the cursor, once the cursor is over the plot. */
async function legendUnderCursor(chart: Locator): Promise<string[]> {
  const over = chart.locator('.u-over');
  const box = await over.boundingBox();
  if (!box) throw new Error('no plot area');
  await chart.page().mouse.move(box.x + box.width * 0.8, box.y + box.height / 2);
  return chart.locator('.u-legend .u-series').evaluateAll((rows) => rows.map((r) => r.textContent ?? ''));
}

describe('the charts', { timeout: 180_000 }, () => {
  it("draws the instance's CPU, memory, requests, response time and sizes over 24 h, 7 d and 30 d", async () => {
    const page = await adminPage();
    await page.goto(`${baseUrl}/instances/${instanceId}?tab=metrics`);
    const grid = page.locator('.metrics-grid[data-range="24h"]');
    await grid.waitFor();
    // Five charts, each a uPlot canvas with its legend.
    expect(await grid.locator('figure.metrics-card').count()).toBe(5);
    await expect.poll(() => grid.locator('.metrics-plot canvas').count()).toBe(5);
    expect(await grid.locator('.u-legend').count()).toBe(5);
    const figure = (id: string) => page.getByTestId(`${id}-figure`).textContent();
    expect(await figure('chart-memory')).toMatch(/^\d+(\.\d+)? MB of 1\.00 GB$/);
    expect(await figure('chart-cpu')).toMatch(/^[\d.]+ cores · peak [\d.]+ cores$/);
    expect(await figure('chart-latency')).toMatch(/^p50 \d+ ms · p95 \d+ ms$/);
    expect(await figure('chart-sizes')).toMatch(/^\d+(\.\d+)? MB · \d+(\.\d+)? MB$/);
    const legend = await legendUnderCursor(page.getByTestId('chart-memory'));
    expect(legend.join(' | ')).toMatch(/Memory\d+(\.\d+)? MB/);
    expect(legend.join(' | ')).toContain('Limit1.00 GB');
    expect((await legendUnderCursor(page.getByTestId('chart-latency'))).join(' | ')).toMatch(/p50\d+ ms \| p95\d+ ms/);
    await page.mouse.move(0, 0);
    await shoot(page, 'metrics-instance-24h');

    await page.getByRole('button', { name: '7 d' }).click();
    await page.locator('.metrics-grid[data-range="7d"]').waitFor();
    expect(await page.getByRole('button', { name: '7 d' }).getAttribute('aria-pressed')).toBe('true');
    // Hourly points: the average and the busiest minute.
    const cpu = await legendUnderCursor(page.getByTestId('chart-cpu'));
    expect(cpu.join(' | ')).toMatch(/CPU \(average\)[\d.]+ cores \| Busiest minute[\d.]+ cores/);
    expect(await page.locator('.metrics-grid .metrics-plot canvas').count()).toBe(5);
    await page.mouse.move(0, 0);
    await shoot(page, 'metrics-instance-7d');

    await page.getByRole('button', { name: '30 d' }).click();
    await page.locator('.metrics-grid[data-range="30d"]').waitFor();
    const requests = await legendUnderCursor(page.getByTestId('chart-requests'));
    expect(requests.join(' | ')).toMatch(/Requests\/min[\d.]+\/min/);
    await page.mouse.move(0, 0);
    await shoot(page, 'metrics-instance-30d');
    // The lazily loaded chart code arrived once, and nothing failed on the page.
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  it('fits a phone: the charts stack, nothing scrolls sideways', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      locale: 'en-US',
      isMobile: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await page.goto(`${baseUrl}/instances/${instanceId}?tab=metrics`);
    const grid = page.locator('.metrics-grid[data-range="24h"]');
    await grid.waitFor();
    await expect.poll(() => grid.locator('.metrics-plot canvas').count()).toBe(5);
    // A string: the test is compiled without the DOM's types.
    const widths = (await page.evaluate(`({
      page: document.documentElement.scrollWidth,
      chart: document.querySelector('.metrics-plot canvas')?.getBoundingClientRect().width ?? 0,
    })`)) as { page: number; chart: number };
    expect(widths.page).toBeLessThanOrEqual(390);
    expect(widths.chart).toBeGreaterThan(250);
    await shoot(page, 'metrics-instance-phone');
    await context.close();
  });

  it('says when an instance has no samples yet', async () => {
    const page = await adminPage();
    await page.goto(`${baseUrl}/instances/${emptyId}?tab=metrics`);
    await page.getByRole('heading', { name: 'No samples yet' }).waitFor();
    expect(await page.getByText('samples every instance once a minute').count()).toBe(1);
    expect(await page.locator('.metrics-plot').count()).toBe(0);
    await shoot(page, 'metrics-instance-empty');
    await page.context().close();
  });

  it("draws the organization's storage against its quota", async () => {
    const page = await adminPage();
    const asked: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/v1/instances') asked.push(new URL(request.url()).search);
    });
    await page.goto(`${baseUrl}/organizations/acme`);
    // The count of its instances is the first page's total: one row asked for, never the list.
    await expect.poll(() => page.getByTestId('instance-count').textContent()).toBe('2');
    expect(asked.length).toBeGreaterThan(0);
    for (const search of asked) expect(new URLSearchParams(search).get('limit')).toBe('1');
    const section = page.locator('section[aria-label="Storage over time"][data-range="30d"]');
    await section.waitFor();
    await expect.poll(() => section.locator('.metrics-plot canvas').count()).toBe(1);
    expect(await page.getByTestId('chart-storage-figure').textContent()).toMatch(/^\d+(\.\d+)? MB of 500 MB$/);
    const legend = await legendUnderCursor(page.getByTestId('chart-storage'));
    expect(legend.join(' | ')).toMatch(/Storage used\d+(\.\d+)? MB \| Quota500 MB/);
    await page.mouse.move(0, 0);
    await shoot(page, 'metrics-organization-storage', section);
    await page.getByRole('button', { name: '24 h' }).click();
    const day = page.locator('section[aria-label="Storage over time"][data-range="24h"]');
    await day.waitFor();
    await shoot(page, 'metrics-organization-storage-24h', day);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});

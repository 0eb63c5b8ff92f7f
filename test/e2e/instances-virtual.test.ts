import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instanceRow } from '../../bench/scale-seed.js';
import { LOCAL_HOST_ID } from '../../src/modules/hosts/hosts.js';
import { SecretBox } from '../../src/platform/secrets/secret-box.js';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import { adminBrowser, as, createTestApp, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import { makeOrganization, makeProject } from '../helpers/factories.js';

/**
 * The instance list with 2,000 instances, in Chromium: rows written straight into `instances`
 * (stopped, no container: the page is what is checked). The list is asked for a page of 100 at a
 * time, never whole; the scroll bar is still the whole list's, and scrolling loads the pages up to
 * the rows in view. Only the rows in view are in the page; scrolling brings the others in and
 * takes the first out, the headings stay over their columns, nothing jumps, live changes show, a
 * click still opens an instance, and phones still get one card per instance.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = '/work/screens';
const COUNT = 2000;
const PAGE = 100;
const CHUNK = 250;
const FIRST_PORT = 30_000;

let t: TestApp;
let browser: Browser;
let page: Page;
let baseUrl: string;
let webDir: string;
const pageErrors: string[] = [];
const ids = new Map<string, string>();
/** Every request the browser made for the instance list, in order. */
const listRequests: URL[] = [];

const isList = (url: string) => new URL(url).pathname === '/api/v1/instances';
/** The list was only ever asked for pages of 100, each after the one before. */
function expectPaged(requests: URL[], pages: number): void {
  expect(requests.map((url) => url.searchParams.get('limit'))).toEqual(Array(pages).fill(String(PAGE)));
  const cursors = requests.map((url) => url.searchParams.get('cursor'));
  expect(cursors[0]).toBeNull();
  expect(new Set(cursors.slice(1)).size).toBe(pages - 1);
  expect(cursors.slice(1)).not.toContain(null);
}

/** Newest first, as the list sorts: vi-0001 is the first row, vi-2000 the last. */
const nameOf = (i: number) => `vi-${String(i + 1).padStart(4, '0')}`;
const table = (on: Page = page) => on.getByRole('table', { name: 'Instances' });
const rowOf = (name: string, on: Page = page) => table(on).locator(`tr[data-instance="${name}"]`);
const renderedRows = (on: Page = page) => table(on).locator('tbody tr[data-instance]');

async function seedInstances(organizationId: string, projectId: string): Promise<void> {
  // The test app's key (test/helpers/app.ts): the secrets open as Marina's own would.
  const box = SecretBox.fromPassphrase('marina test secret key');
  await t.db
    .insertInto('hosts')
    .values({ id: LOCAL_HOST_ID, name: 'local', docker_host: 'unix:///var/run/docker.sock' })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const now = Date.now();
  for (let from = 0; from < COUNT; from += CHUNK) {
    const values = Array.from({ length: Math.min(CHUNK, COUNT - from) }, (_, j) => {
      const i = from + j;
      const row = instanceRow(box, t.config.namespace, {
        organizationId,
        projectId,
        name: nameOf(i),
        status: 'stopped',
        httpPort: FIRST_PORT + i,
      });
      ids.set(nameOf(i), row.id);
      return {
        ...row,
        stage: i % 3 === 0 ? ('production' as const) : ('staging' as const),
        memory_mb: 1024,
        // One second apart, newest first: the list's order is the names' order.
        created_at: new Date(now - i * 1000),
      };
    });
    await t.db.insertInto('instances').values(values).execute();
  }
}

/** Each heading's left edge and width against the cells of a row: the columns line up. */
async function expectColumnsAligned(row: Locator): Promise<void> {
  const headings = await table()
    .locator('thead th')
    .evaluateAll((cells) =>
      cells.map((cell) => {
        const box = cell.getBoundingClientRect();
        return [Math.round(box.left), Math.round(box.width)];
      }),
    );
  const cells = await row.locator('td').evaluateAll((tds) =>
    tds.map((cell) => {
      const box = cell.getBoundingClientRect();
      return [Math.round(box.left), Math.round(box.width)];
    }),
  );
  expect(headings).toHaveLength(9);
  expect(cells).toEqual(headings);
}

/** The rows in the page follow one another without gaps, in the list's order. */
async function expectContiguousRows(on: Page = page): Promise<{ first: number; last: number; count: number }> {
  const rows = await renderedRows(on).evaluateAll((trs) =>
    trs.map((tr) => {
      const box = tr.getBoundingClientRect();
      return { name: tr.getAttribute('data-instance') ?? '', top: box.top, bottom: box.bottom };
    }),
  );
  const index = (name: string) => Number(name.slice(3)) - 1;
  for (let k = 1; k < rows.length; k++) {
    const [previous, current] = [rows[k - 1], rows[k]];
    expect(index(current?.name ?? '')).toBe(index(previous?.name ?? '') + 1);
    expect(Math.abs((current?.top ?? 0) - (previous?.bottom ?? 0))).toBeLessThan(1.5);
  }
  return { first: index(rows[0]?.name ?? ''), last: index(rows.at(-1)?.name ?? ''), count: rows.length };
}

// Strings: the test's TypeScript knows no DOM.
const scrollY = (on: Page = page) => on.evaluate<number>('window.scrollY');
const pageHeight = (on: Page = page) => on.evaluate<number>('document.documentElement.scrollHeight');
/** Two frames: what a scroll makes the page render has been rendered, measured and painted. */
const frames = (on: Page = page) =>
  on.evaluate('new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))');
/** The instance whose row is at this height of the window, in the middle of the table. */
const rowAt = (y: number) =>
  page.evaluate<string | null>(
    `document.elementFromPoint(720, ${y})?.closest('tr')?.getAttribute('data-instance') ?? null`,
  );

/** Whether a row is inside the window (below the sticky top bar). */
async function inView(row: Locator, on: Page = page): Promise<boolean> {
  const box = await row.boundingBox();
  const height = on.viewportSize()?.height ?? 0;
  return box !== null && box.y >= 64 - 1 && box.y + box.height <= height + 1;
}

async function scrollTo(y: number | 'bottom', on: Page = page): Promise<void> {
  await on.evaluate(`window.scrollTo(0, ${y === 'bottom' ? 'document.documentElement.scrollHeight' : y})`);
  // The virtualizer hears the scroll, renders, then measures what it rendered.
  await frames(on);
  await on.waitForTimeout(50);
}

/** The scroll position and where a row sits, over a few frames: nothing moves on its own. */
async function expectStill(row: Locator, on: Page = page): Promise<void> {
  const where = async () => [await scrollY(on), (await row.boundingBox())?.y];
  const before = await where();
  await on.waitForTimeout(400);
  expect(await where()).toEqual(before);
}

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-virtual-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    { MARINA_WEB_DIR: webDir, MARINA_NAMESPACE: 'mtvirtual', MARINA_INSTANCE_PORTS: '30000-32999' },
    { runtime: () => new MemoryRuntime({ images: [] }) },
  );
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const call = as(t, await adminBrowser(t));
  const organization = await makeOrganization(call, { slug: 'acme', name: 'Acme' });
  const project = await makeProject(call, { name: 'erp' });
  await seedInstances(organization.id, project.id);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('request', (request) => {
    if (isList(request.url())) listRequests.push(new URL(request.url()));
  });
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

describe('the instance list with 2,000 instances', { timeout: 120_000 }, () => {
  it('holds only the rows in view, under headings that line up with them', async () => {
    expect(
      await t.db
        .selectFrom('instances')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst(),
    ).toEqual({
      n: String(COUNT),
    });
    listRequests.length = 0;
    const firstAnswer = page.waitForResponse((response) => isList(response.url()));
    await page.goto(`${baseUrl}/instances`);
    await rowOf(nameOf(0)).waitFor();
    // One page of 100 at load, which counts them all: not the 2,000 rows (1.3 MB) of the whole list.
    const answer = (await (await firstAnswer).json()) as { instances: unknown[]; total: number; nextCursor: string };
    expect(answer.instances).toHaveLength(PAGE);
    expect(answer.total).toBe(COUNT);
    expect(answer.nextCursor).toBe(ids.get(nameOf(PAGE - 1)));
    const headings = await table().locator('thead th').allInnerTexts();
    expect(headings.map((h) => h.trim().toLowerCase())).toEqual([
      'name',
      'project',
      'stage',
      'odoo',
      'status',
      'uptime',
      'size',
      'usage',
      'url',
    ]);
    const rendered = await renderedRows().count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(100);
    const { first, last } = await expectContiguousRows();
    expect(first).toBe(0);
    expect(last).toBe(rendered - 1);
    // The table is as tall as all its rows: the page scrolls as far as 2,000 rows of about 61 px.
    const height = await pageHeight();
    expect(height).toBeGreaterThan(COUNT * 55);
    const firstRow = rowOf(nameOf(0));
    expect(await firstRow.getAttribute('class')).toBe('row-production');
    expect(await firstRow.locator('td').first().getAttribute('data-label')).toBe('Name');
    expect(await firstRow.getByTestId('instance-status').getAttribute('data-status')).toBe('stopped');
    await expectColumnsAligned(firstRow);
    await expectStill(firstRow);
    // The rows in view are all loaded: nothing asked for more.
    expectPaged(listRequests, 1);
    await page.screenshot({ path: join(shots, 'instances-virtual-top.png') });
  });

  it('shows live changes of loaded rows, and rows not loaded yet as they are when they come', async () => {
    await page.getByTestId('live-indicator').getByText('Live').waitFor();
    const loaded = ids.get(nameOf(1)) ?? '';
    const later = ids.get(nameOf(COUNT - 1)) ?? '';
    await t.services.instances.setStatus(loaded, 'failed', 'Stopped by the test');
    await t.services.instances.setStatus(later, 'failed', 'Stopped by the test');
    const status = rowOf(nameOf(1)).getByTestId('instance-status');
    await expect.poll(() => status.getAttribute('data-status')).toBe('failed');
    await t.services.instances.setStatus(loaded, 'stopped');
    await expect.poll(() => status.getAttribute('data-status')).toBe('stopped');
    // A change to a row not loaded is left to its page; nothing else was asked for.
    expectPaged(listRequests, 1);
  });

  it('brings the last instance in and takes the first out when scrolled to the bottom', async () => {
    const heightBefore = await pageHeight();
    // Just past the first page: the second one comes, and only it.
    const top =
      (await table()
        .locator('tbody')
        .evaluate((body) => body.getBoundingClientRect().top)) + (await scrollY());
    await scrollTo(Math.round(top + (PAGE - 10) * 61));
    await rowOf(nameOf(PAGE)).waitFor();
    await page.waitForTimeout(300);
    expectPaged(listRequests, 2);
    await scrollTo('bottom');
    const lastRow = rowOf(nameOf(COUNT - 1));
    await lastRow.waitFor();
    // The pages up to the end, one after another, and nothing twice.
    expectPaged(listRequests, COUNT / PAGE);
    expect(await table().locator('tr.row-placeholder').count()).toBe(0);
    // Changed while its page was not loaded: the page brought it as it is now.
    expect(await lastRow.getByTestId('instance-status').getAttribute('data-status')).toBe('failed');
    await expect.poll(() => rowOf(nameOf(0)).count()).toBe(0);
    await scrollTo('bottom');
    expect(await renderedRows().count()).toBeLessThan(100);
    const { last } = await expectContiguousRows();
    expect(last).toBe(COUNT - 1);
    expect(await inView(lastRow)).toBe(true);
    await expectColumnsAligned(lastRow);
    await expectStill(lastRow);
    // The guessed row height was right: measuring the rows moved the end of the page little if at all.
    const heightAfter = await pageHeight();
    expect(Math.abs(heightAfter - heightBefore)).toBeLessThan(COUNT);
    await page.screenshot({ path: join(shots, 'instances-virtual-bottom.png') });
  });

  it('shows the right rows in the middle, and scrolls up by the wheel without jumps', async () => {
    const top =
      (await table()
        .locator('tbody')
        .evaluate((body) => body.getBoundingClientRect().top)) + (await scrollY());
    const heights = await renderedRows().evaluateAll((trs) => trs.map((tr) => tr.getBoundingClientRect().height));
    const rowHeight = heights.sort((a, b) => a - b)[Math.floor(heights.length / 2)] ?? 0;
    await scrollTo(Math.round(top + 1000 * rowHeight));
    // The row just under the top bar (64 px) is about the 1,001st: rows never shown are laid out at
    // the page's guess of a row's height (61 px), which may be a little off here (1% of the rows).
    const atTop = await rowAt(70);
    expect(atTop).not.toBeNull();
    expect(Math.abs(Number(atTop?.slice(3)) - 1001)).toBeLessThanOrEqual(10);
    // No blank: the rows in the page cover the window, from under the top bar to its bottom.
    const covered = await renderedRows().evaluateAll((trs) => [
      trs[0]?.getBoundingClientRect().top ?? Number.NaN,
      trs.at(-1)?.getBoundingClientRect().bottom ?? Number.NaN,
    ]);
    expect(covered[0]).toBeLessThanOrEqual(64);
    expect(covered[1]).toBeGreaterThanOrEqual(1000);
    await expectContiguousRows();
    // Up by the wheel through rows never measured: the row under the pointer moves with the wheel.
    // Rows coming into view take their measured height instead of the guess (61 px, a fraction off
    // here): the rows under them may move by that fraction each, never by a row.
    await page.mouse.move(720, 500);
    for (let step = 0; step < 10; step++) {
      const name = await rowAt(500);
      const row = rowOf(name ?? '');
      const top = (await row.boundingBox())?.y ?? 0;
      const scrolled = await scrollY();
      await page.mouse.wheel(0, -600);
      await expect.poll(() => scrollY()).toBeLessThan(scrolled);
      await frames();
      const moved = scrolled - (await scrollY());
      if ((await row.count()) === 1) {
        const now = (await row.boundingBox())?.y ?? 0;
        expect(Math.abs(now - top - moved)).toBeLessThan(8);
      }
      await expectContiguousRows();
    }
  });

  it('opens an instance from a click on its row, and from its name by the keyboard', async () => {
    await scrollTo('bottom');
    const lastName = nameOf(COUNT - 1);
    // A click on the row's Stage cell (not a link): the row's own click handler.
    await rowOf(lastName).locator('td').nth(2).click();
    await page.waitForURL(`${baseUrl}/instances/${ids.get(lastName)}`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toContain(lastName);

    await page.goto(`${baseUrl}/instances`);
    await rowOf(nameOf(0)).waitFor();
    // Tab from the first name onwards: focus goes past the rows first in the page, which come in.
    await rowOf(nameOf(0))
      .getByRole('link', { name: nameOf(0), exact: true })
      .focus();
    for (let press = 0; press < 90; press++) await page.keyboard.press('Tab');
    const focused = await page.evaluate<string | null>(
      "document.activeElement?.closest('tr')?.getAttribute('data-instance') ?? null",
    );
    expect(focused).not.toBeNull();
    const focusedIndex = Number(focused?.slice(3)) - 1;
    expect(focusedIndex).toBeGreaterThan(25);
    // The browser scrolled the focused link into view, and the virtualizer brought the rows there.
    expect(await inView(page.locator(':focus'))).toBe(true);
    expect(await renderedRows().count()).toBeLessThan(100);
    // Enter on that row's name opens its instance.
    const name = rowOf(focused ?? '').getByRole('link', { name: focused ?? '', exact: true });
    await name.focus();
    await name.press('Enter');
    await page.waitForURL(`${baseUrl}/instances/${ids.get(focused ?? '')}`);
  });

  it('keeps one card per instance on a phone, as few in the page', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
    const small = await phone.newPage();
    small.setDefaultTimeout(15_000);
    small.on('pageerror', (error) => pageErrors.push(error.message));
    await signInPage(small, baseUrl, 'admin@example.com', STRONG_PASSWORD);
    await small.goto(`${baseUrl}/instances`);
    const firstCard = rowOf(nameOf(0), small);
    await firstCard.waitFor();
    expect(await renderedRows(small).count()).toBeLessThan(40);
    // A card: the cells one under the other, each after its column's name.
    expect(await firstCard.evaluate((tr) => tr.ownerDocument.defaultView?.getComputedStyle(tr).display)).toBe('block');
    const label = await firstCard
      .locator('td[data-label="Stage"]')
      .evaluate((td) => td.ownerDocument.defaultView?.getComputedStyle(td, '::before').content);
    expect(label).toBe('"Stage"');
    await expectContiguousRows(small);
    await small.screenshot({ path: join(shots, 'instances-virtual-phone-top.png') });
    await scrollTo('bottom', small);
    await rowOf(nameOf(COUNT - 1), small).waitFor();
    await scrollTo('bottom', small);
    expect(await rowOf(nameOf(0), small).count()).toBe(0);
    expect(await inView(rowOf(nameOf(COUNT - 1), small), small)).toBe(true);
    await expectContiguousRows(small);
    await small.screenshot({ path: join(shots, 'instances-virtual-phone-bottom.png') });
    await phone.close();
    expect(pageErrors).toEqual([]);
  });
});

import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { operationView } from '../../src/platform/jobs/operations.js';
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
import { makeOrganizationWithAdmin, makeProject } from '../helpers/factories.js';

/**
 * "Move to another node" on an instance's page in Chromium. No Swarm runs here: node1, node2 and
 * node3 are `hosts` rows (node3 down), and the production instance `shop` on node1 is a row too.
 * Checked: the dialog (where to, the production name), the API's refusal of a node that cannot
 * take it shown in the dialog, and a move that is accepted followed to its end with its steps and
 * its downtime. The job queue is stubbed: the test advances the job's row and publishes it, as the
 * runner would (the real move is test/cluster/instances-on-nodes.test.ts). The organization's own
 * admin gets no button.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
const GIB = 1024 ** 3;

let t: TestApp;
let admin: Session;
let orgAdmin: Session;
let browser: Browser;
let page: Page;
let baseUrl: string;
let webDir: string;
let instanceId: string;
const pageErrors: string[] = [];

const moveButton = (on: Page = page) => on.getByTestId('instance-move');
const dialog = () => page.getByRole('dialog', { name: 'Move shop to another node?' });
const card = () => page.locator('[data-testid="inline-job"][data-job-kind="instance.move"]');

/** The job's row as the runner leaves it at each point, published to the page's event stream. */
async function advance(id: string, values: Record<string, unknown>): Promise<void> {
  const row = await t.db
    .updateTable('operations')
    .set(values)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  t.services.operations.bus.publish(operationView(row));
}

const STEPS = ['prepare', 'copy', 'stop', 'sync', 'switch', 'start', 'health', 'cleanup'];
const steps = (done: number, running: boolean) =>
  JSON.stringify(
    STEPS.map((name, i) => ({
      name,
      status: i < done ? 'done' : i === done && running ? 'running' : 'pending',
      startedAt: i <= done ? new Date().toISOString() : null,
      finishedAt: i < done ? new Date().toISOString() : null,
    })),
  );

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-move-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    {
      MARINA_WEB_DIR: webDir,
      MARINA_NAMESPACE: 'mtmemmoveui',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await adminBrowser(t);
  const node = (id: string, role: 'manager' | 'worker', state: 'ready' | 'down') => ({
    id,
    name: id,
    docker_host: `tcp://192.0.2.${id.slice(4)}:2376`,
    role,
    address: `192.0.2.${id.slice(4)}`,
    node_state: state,
    availability: 'active' as const,
    cpus: 4,
    memory_bytes: 8 * GIB,
    state: state === 'ready' ? ('reachable' as const) : ('unreachable' as const),
  });
  await t.db
    .insertInto('hosts')
    .values([node('node1', 'manager', 'ready'), node('node2', 'worker', 'ready'), node('node3', 'worker', 'down')])
    .execute();
  const made = await makeOrganizationWithAdmin(t, admin, { slug: 'acme' });
  const organization = made.organization;
  orgAdmin = made.admin;
  const project = await makeProject(as(t, admin), { organization: 'acme' });
  const instance = await t.db
    .insertInto('instances')
    .values({
      organization_id: organization.id,
      project_id: project.id,
      name: 'shop',
      stage: 'production',
      odoo_version: '17.0',
      host_id: 'node1',
      db_name: 'mtmemmoveui_shop',
      db_password: 'unused',
      master_password: 'unused',
      admin_login: 'admin@acme.test',
      admin_password: 'unused',
      language: 'en_US',
      cpus: 1,
      memory_mb: 2048,
      container_name: 'mtmemmoveui-shop',
      volume_name: 'mtmemmoveui-shop-data',
      status: 'stopped',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  instanceId = instance.id;

  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await signInPage(page, baseUrl, 'admin@example.com', STRONG_PASSWORD);
}, 120_000);

afterEach(() => vi.restoreAllMocks());

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (webDir) await rm(webDir, { recursive: true, force: true });
});

describe('moving an instance to another node', { timeout: 120_000 }, () => {
  it('asks where to and the production name, and shows why a node cannot take it', async () => {
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname.endsWith('/move'))
        posts.push(request.postData() ?? '');
    });
    await page.goto(`${baseUrl}/instances/${instanceId}`);
    await moveButton().click();
    await dialog().waitFor();
    const text = (await dialog().textContent()) ?? '';
    expect(text).toContain('is down from the stop until Odoo answers on the new node');
    expect(text).toContain('It is on node1 now.');
    // Every node but its own, placement's choice first; a node that is down says so.
    const to = dialog().getByLabel('Move to');
    expect(await to.locator('option').allTextContents()).toEqual(['Where placement puts it', 'node2', 'node3 (down)']);
    const confirm = dialog().getByRole('button', { name: 'Move', exact: true });
    expect(await confirm.isDisabled()).toBe(true);
    const name = dialog().getByLabel(/Type its name to move it/);
    await name.fill('shop2');
    expect(await confirm.isDisabled()).toBe(true);
    await page.screenshot({ path: join(screenshots, 'instance-move-dialog.png') });
    expect(posts).toEqual([]);

    await to.selectOption('node3');
    await name.fill('shop');
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/move'));
    await confirm.click();
    const answer = await answered;
    expect(JSON.parse(answer.request().postData() ?? '{}')).toEqual({ to: 'node3', confirm: 'shop' });
    expect(answer.status()).toBe(409);
    const { error } = (await answer.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('MARINA_E_NO_PLACEMENT');
    await dialog().getByRole('alert').getByText(error.message).waitFor();
    expect(error.message).toContain('node3');
    await page.screenshot({ path: join(screenshots, 'instance-move-refused.png') });
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    await dialog().waitFor({ state: 'detached' });
    const row = await t.db.selectFrom('instances').select('host_id').where('id', '=', instanceId).executeTakeFirst();
    expect(row).toEqual({ host_id: 'node1' });
    expect(pageErrors).toEqual([]);
  });

  it('follows an accepted move with its steps, and says how long the instance was down', async () => {
    const enqueue = vi.spyOn(t.services.runner, 'enqueue').mockResolvedValue();
    await page.goto(`${baseUrl}/instances/${instanceId}`);
    await moveButton().click();
    await dialog()
      .getByLabel(/Type its name to move it/)
      .fill('shop');
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/move'));
    await dialog().getByRole('button', { name: 'Move', exact: true }).click();
    const answer = await answered;
    expect(answer.status()).toBe(202);
    const { job, node } = (await answer.json()) as { job: { id: string }; node: string };
    expect(node).toBe('node2');
    expect(enqueue).toHaveBeenCalledTimes(1);
    await dialog().waitFor({ state: 'detached' });
    await card().waitFor();
    expect(await card().getAttribute('data-job-id')).toBe(job.id);
    // The job holds the instance: no second move meanwhile.
    await expect.poll(() => moveButton().isDisabled()).toBe(true);

    // The copy while it serves, then the switch: the card's steps follow.
    await advance(job.id, {
      status: 'running',
      step: 'copy',
      progress: 35,
      started_at: new Date(),
      steps: steps(1, true),
    });
    await card().getByText('Copying the filestore while Odoo serves…').waitFor();
    await page.screenshot({ path: join(screenshots, 'instance-move-progress.png') });
    await advance(job.id, { step: 'sync', progress: 60, steps: steps(3, true) });
    await card().getByText('Copying the database and the last changes…').waitFor();
    expect(await card().getByRole('progressbar').getAttribute('aria-valuenow')).toBe('60');

    await t.db.updateTable('instances').set({ host_id: 'node2' }).where('id', '=', instanceId).execute();
    await advance(job.id, {
      status: 'succeeded',
      step: 'cleanup',
      progress: 100,
      finished_at: new Date(),
      steps: steps(8, false),
      result: JSON.stringify({ instanceId, from: 'node1', to: 'node2', downtimeMs: 4200 }),
    });
    await card().locator('.inline-job-extra').getByText('Moved from node1 to node2 — down for 4.2 s.').waitFor();
    await page.getByRole('status').or(page.getByRole('alert')).filter({ hasText: 'down for 4.2 s' }).first().waitFor();
    expect(await card().getAttribute('data-job-status')).toBe('succeeded');
    await page.screenshot({ path: join(screenshots, 'instance-move-done.png') });
    // On node2 now: node1 is among the nodes it can go to.
    await expect.poll(() => moveButton().isEnabled(), { timeout: 10_000 }).toBe(true);
    await moveButton().click();
    expect(await dialog().getByLabel('Move to').locator('option').allTextContents()).toEqual([
      'Where placement puts it',
      'node1',
      'node3 (down)',
    ]);
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    await card().getByRole('button', { name: 'Dismiss' }).click();
    await card().waitFor({ state: 'detached' });
    expect(pageErrors).toEqual([]);
  });

  it('is not offered to the organization’s own admin, whom the API refuses', async () => {
    const refused = await as(t, orgAdmin)('POST', `/api/v1/instances/${instanceId}/move`, { confirm: 'shop' });
    expect(refused.statusCode).toBe(403);
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
    try {
      const other = await context.newPage();
      other.setDefaultTimeout(15_000);
      await signInPage(other, baseUrl, 'admin@acme.test', STRONG_PASSWORD);
      await other.goto(`${baseUrl}/instances/${instanceId}`);
      await other.locator('.instance-actions').getByRole('button', { name: 'Delete' }).waitFor();
      expect(await moveButton(other).count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});

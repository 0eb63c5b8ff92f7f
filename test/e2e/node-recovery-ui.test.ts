import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
 * The recovery of an instance whose cluster node is lost, on the instance's page in Chromium. No
 * node is really lost: node9 is a `hosts` row Swarm would have marked down, the instance on it is
 * `unavailable` (as the status follower leaves it) and has a completed backup, all written into the
 * database. Checked: the platform admin sees the panel (node, since when, the backup, the work that
 * would be lost) and the dialog wants the production name; the organization's own admin sees the
 * instance without the panel and the API refuses them. That the recovery runs needs a Swarm
 * (test/cluster/instances-on-nodes.test.ts): here the one sent is refused, no manager answering.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
const SHOT = process.env.MARINA_RECOVERY_SHOT ?? '/tmp/node-recovery.png';
const GIB = 1024 ** 3;
const SIZE = Math.round(1.2 * GIB);
/** Times fixed at the start, to the minute: the node lost two hours ago, the backup 3 h 15 min before. */
const START = Math.floor(Date.now() / 60_000) * 60_000;
const LOST_AT = new Date(START - 2 * 3600_000);
const BACKUP_AT = new Date(LOST_AT.getTime() - (3 * 3600 + 15 * 60) * 1000);
const shown = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

let t: TestApp;
let admin: Session;
let orgAdmin: Session;
let browser: Browser;
let page: Page;
let baseUrl: string;
let webDir: string;
let instanceId: string;
let backupId: string;
const pageErrors: string[] = [];

const panel = (on: Page = page) => on.getByTestId('node-recovery');

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-recovery-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    {
      MARINA_WEB_DIR: webDir,
      MARINA_NAMESPACE: 'mtmemrecoverui',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await adminBrowser(t);

  // A worker Swarm reported down two hours ago; background work is not started, so nothing changes it.
  await t.db
    .insertInto('hosts')
    .values({
      id: 'node9',
      name: 'node9',
      docker_host: 'tcp://192.0.2.9:2376',
      role: 'worker',
      address: '192.0.2.9',
      node_state: 'down',
      node_state_since: LOST_AT,
      availability: 'active',
      cpus: 4,
      memory_bytes: 8 * GIB,
      state: 'unreachable',
    })
    .execute();
  const { organization, admin: acmeAdmin } = await makeOrganizationWithAdmin(t, admin, { slug: 'acme' });
  orgAdmin = acmeAdmin;
  const project = await makeProject(as(t, admin), { organization: 'acme' });
  const instance = await t.db
    .insertInto('instances')
    .values({
      organization_id: organization.id,
      project_id: project.id,
      name: 'shop',
      stage: 'production',
      odoo_version: '17.0',
      host_id: 'node9',
      db_name: 'mtmemrecoverui_shop',
      db_password: 'unused',
      master_password: 'unused',
      admin_login: 'admin@acme.test',
      admin_password: 'unused',
      language: 'en_US',
      cpus: 1,
      memory_mb: 2048,
      container_name: 'mtmemrecoverui-shop',
      volume_name: 'mtmemrecoverui-shop-data',
      status: 'unavailable',
      // As the status follower words it (src/modules/instances/status.ts).
      status_detail:
        'Its node node9 is down: it comes back when the node does, or a platform admin recovers it on another node.',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  instanceId = instance.id;
  const backup = await t.db
    .insertInto('backups')
    .values({
      organization_id: organization.id,
      instance_id: instanceId,
      instance_label: 'erp/shop',
      odoo_version: '17.0',
      kind: 'full',
      format: 'native',
      trigger: 'schedule',
      status: 'completed',
      file_name: `${instanceId}/b.tar.zst`,
      sha256: 'a'.repeat(64),
      size_bytes: SIZE,
      error: null,
      operation_id: null,
      created_by: 'test',
      created_at: BACKUP_AT,
      completed_at: BACKUP_AT,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  backupId = backup.id;

  browser = await launchChromium();
  const context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
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

describe('recovering an instance of a lost node', { timeout: 120_000 }, () => {
  it('shows the platform admin the lost node, the backup it would be recovered from, and what would be lost', async () => {
    await page.goto(`${baseUrl}/instances/${instanceId}`);
    await panel().getByTestId('recovery-plan').waitFor();
    expect(await page.locator('.title-with-badge .badge').first().textContent()).toBe('node lost');

    const text = (await panel().textContent()) ?? '';
    expect(text).toContain(`Its node node9 is down since ${shown.format(LOST_AT)} (2 hours ago).`);
    expect(await panel().getByTestId('recovery-node-since').getAttribute('datetime')).toBe(LOST_AT.toISOString());
    expect(await panel().getByTestId('recovery-node').getAttribute('href')).toBe('/nodes');
    expect(await panel().getByTestId('recovery-plan').textContent()).toBe(
      `Recover on another node from the backup of ${shown.format(BACKUP_AT)} (1.20 GB). ` +
        'Changes made after that backup — 3 hours and 15 minutes — will be lost.',
    );
    expect(await panel().getByTestId('recovery-backup-at').getAttribute('datetime')).toBe(BACKUP_AT.toISOString());
    // Nothing to measure on a lost node: no resource use waiting forever.
    expect(await page.getByRole('heading', { name: 'Resource use' }).count()).toBe(0);
    const button = panel().getByRole('button', { name: 'Recover on another node' });
    expect(await button.isEnabled()).toBe(true);

    // Above the stat cards, under the header: the first thing read on the page.
    const [panelBox, statsBox] = await Promise.all([
      panel().boundingBox(),
      page.locator('.stats').first().boundingBox(),
    ]);
    expect(panelBox && statsBox && panelBox.y + panelBox.height <= statsBox.y).toBe(true);
    await page.screenshot({ path: SHOT });
    await page.screenshot({ path: join(screenshots, 'node-recovery.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('asks for the production name: a wrong one sends nothing; the right one is sent with the backup shown', async () => {
    const recoverPosts: string[] = [];
    const isRecover = (url: string, method: string) =>
      method === 'POST' && new URL(url).pathname === `/api/v1/instances/${instanceId}/recover`;
    page.on('request', (request) => {
      if (isRecover(request.url(), request.method())) recoverPosts.push(request.postData() ?? '');
    });

    await panel().getByRole('button', { name: 'Recover on another node' }).click();
    const dialog = page.getByRole('dialog', { name: 'Recover shop on another node?' });
    await dialog.waitFor();
    expect(await dialog.getByTestId('recovery-dialog-note').textContent()).toBe(
      'Changes made after that backup — 3 hours and 15 minutes — are lost.',
    );
    expect(await dialog.textContent()).toContain(
      'Marina removes the service of shop from node node9, so that the node',
    );
    const confirm = dialog.getByRole('button', { name: 'Recover on another node' });
    expect(await confirm.isDisabled()).toBe(true);
    const name = dialog.getByLabel(/Type its name to recover it on another node/);
    await name.fill('shop2');
    expect(await confirm.isDisabled()).toBe(true);
    await confirm.click({ force: true });
    await page.screenshot({ path: join(screenshots, 'node-recovery-dialog.png') });
    expect(recoverPosts).toEqual([]);

    // The right name: the POST carries it and the backup shown; no manager answers here, and the
    // dialog stays open with why (a real cluster is test/cluster's).
    await name.fill('shop');
    expect(await confirm.isEnabled()).toBe(true);
    const answered = page.waitForResponse((r) => isRecover(r.url(), r.request().method()));
    await confirm.click();
    const answer = await answered;
    expect(JSON.parse(answer.request().postData() ?? '{}')).toEqual({ confirm: 'shop', backupId });
    expect(answer.status()).toBeGreaterThanOrEqual(400);
    await dialog.getByRole('alert').getByText('No manager of the cluster answers.').waitFor();
    await page.screenshot({ path: join(screenshots, 'node-recovery-refused.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = await t.db
      .selectFrom('instances')
      .select(['host_id', 'status'])
      .where('id', '=', instanceId)
      .executeTakeFirst();
    expect(row).toEqual({ host_id: 'node9', status: 'unavailable' });

    // Without the name the API refuses too, whatever the page does.
    const refused = await as(t, admin)('POST', `/api/v1/instances/${instanceId}/recover`, { confirm: 'shop2' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('MARINA_E_CONFIRMATION_REQUIRED');
    expect(pageErrors).toEqual([]);
  });

  it('says why an instance of the lost node cannot be recovered when it has no backup, without the button', async () => {
    const shop = await t.db.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirstOrThrow();
    const { id } = await t.db
      .insertInto('instances')
      .values({
        organization_id: shop.organization_id,
        project_id: shop.project_id,
        name: 'lab',
        stage: 'staging',
        odoo_version: '17.0',
        host_id: 'node9',
        db_name: 'mtmemrecoverui_lab',
        db_password: 'unused',
        master_password: 'unused',
        admin_login: 'admin@acme.test',
        admin_password: 'unused',
        language: 'en_US',
        cpus: 1,
        memory_mb: 1024,
        container_name: 'mtmemrecoverui-lab',
        volume_name: 'mtmemrecoverui-lab-data',
        status: 'unavailable',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await page.goto(`${baseUrl}/instances/${id}`);
    const reason = panel().getByTestId('recovery-reason');
    await reason.waitFor();
    expect(await reason.textContent()).toBe(
      'It cannot be recovered on another node: The instance has no completed backup.',
    );
    expect(await panel().textContent()).toContain('Its node node9 is down since');
    expect(await panel().getByRole('button').count()).toBe(0);
    await page.screenshot({ path: join(screenshots, 'node-recovery-no-backup.png') });
    expect(pageErrors).toEqual([]);
  });

  it('the organization’s own admin sees the lost node’s instance without the panel; the API refuses them', async () => {
    expect((await as(t, orgAdmin)('GET', `/api/v1/instances/${instanceId}/recovery`)).statusCode).toBe(403);
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
    try {
      const other = await context.newPage();
      other.setDefaultTimeout(15_000);
      const errors: string[] = [];
      other.on('pageerror', (error) => errors.push(error.message));
      const asked: string[] = [];
      other.on('request', (request) => {
        if (new URL(request.url()).pathname.endsWith('/recovery')) asked.push(request.url());
      });
      await signInPage(other, baseUrl, 'admin@acme.test', STRONG_PASSWORD);
      await other.goto(`${baseUrl}/instances/${instanceId}`);
      await other.getByRole('heading', { name: /shop/ }).waitFor();
      await other.locator('.title-with-badge .badge', { hasText: 'node lost' }).waitFor();
      await other.getByText('a platform admin recovers it on another node').waitFor();
      expect(await panel(other).count()).toBe(0);
      expect(await other.getByRole('button', { name: 'Recover on another node' }).count()).toBe(0);
      // The page does not even ask.
      expect(asked).toEqual([]);
      await other.screenshot({ path: join(screenshots, 'node-recovery-org-admin.png') });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Host } from '../../src/db/schema.js';
import { LOCAL_HOST_ID } from '../../src/modules/hosts/hosts.js';
import type { SwarmEngine } from '../../src/runtime/docker/swarm.js';
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
 * The Nodes page (platform admins) in Chromium, on host rows written straight into `hosts`: no
 * Swarm runs here. Checked: the standalone host and the empty state, the table as the rows say,
 * a state change shown by the 5-second polling without a reload, Remove asking first, and the
 * API's refusal of removing a node with an instance shown as it comes, Drain of a node with an
 * instance (asked first, its move followed to the end, then Drain again drains it in Swarm), and
 * Add host over SSH sending the key and the fingerprint (to an address where nothing answers).
 * No Swarm runs here: for the drain, the manager's engine and the job queue are stubbed (the node
 * update is recorded; the move job's row is advanced as the runner would); real drains and moves
 * are test/cluster's. Background work is not started, so nothing follows (and overwrites) the
 * fake nodes' state.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
const GB = 1024 ** 3;
const run = promisify(execFile);

let t: TestApp;
let admin: Session;
let browser: Browser;
let page: Page;
let baseUrl: string;
let webDir: string;
const pageErrors: string[] = [];

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
const table = () => page.getByRole('table', { name: 'Nodes' });
const row = (id: string) => table().locator(`tr[data-node="${id}"]`);
const stateOf = (id: string) => row(id).getByTestId('node-state');

async function host(values: {
  id: string;
  role: 'standalone' | 'manager' | 'worker';
  nodeState?: 'ready' | 'down' | 'unknown' | 'disconnected';
  availability?: 'active' | 'drain';
  sinceMinutes?: number;
  cpus: number;
  memoryGb: number;
  address?: string;
}) {
  const cluster = values.role !== 'standalone';
  await t.db
    .insertInto('hosts')
    .values({
      id: values.id,
      name: values.id,
      docker_host: cluster ? `tcp://${values.address}:2376` : 'unix:///var/run/docker.sock',
      role: values.role,
      address: values.address ?? null,
      node_state: values.nodeState ?? null,
      availability: values.availability ?? (cluster ? 'active' : null),
      manager_reachability: values.role === 'manager' ? 'reachable' : null,
      node_state_since: values.sinceMinutes === undefined ? null : minutesAgo(values.sinceMinutes),
      cpus: values.cpus,
      memory_bytes: values.memoryGb * GB,
      engine_version: '28.3.2',
      state: 'reachable',
    })
    .execute();
}

async function openPage(): Promise<void> {
  await page.goto(`${baseUrl}/nodes`);
  await table().waitFor();
}

beforeAll(async () => {
  await mkdir(screenshots, { recursive: true });
  // A copy of the built UI: another engineer's rebuild of dist/web must not break the pages.
  webDir = await mkdtemp(join(tmpdir(), 'marina-nodes-web-'));
  await cp(join(root, 'dist', 'web'), webDir, { recursive: true });
  t = await createTestApp(
    {
      MARINA_WEB_DIR: webDir,
      MARINA_NAMESPACE: 'mtmemnodesui',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  admin = await adminBrowser(t);
  // The engine Marina started on, as start-up registers it: outside the cluster.
  await host({ id: LOCAL_HOST_ID, role: 'standalone', cpus: 8, memoryGb: 32 });
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
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

describe('the Nodes page', { timeout: 120_000 }, () => {
  it('shows this machine outside the cluster, no actions on it, and how to add a host', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes' }).click();
    await page.waitForURL(`${baseUrl}/nodes`);
    await table().waitFor();
    expect(await table().locator('tbody tr').count()).toBe(1);
    expect(await row(LOCAL_HOST_ID).textContent()).toContain('this machine, outside the cluster');
    expect(await row(LOCAL_HOST_ID).getByRole('button').count()).toBe(0);
    const empty = page.getByTestId('nodes-empty');
    expect(await empty.textContent()).toContain('TCP with mutual TLS');
    expect(await empty.textContent()).toContain('“Cluster”');
  });

  // Before any node is in the cluster: the API then goes straight to the engine, and no manager's.
  it('adds a host over SSH with a key and the host key’s fingerprint, and shows why the engine did not answer', async () => {
    const keys = await mkdtemp(join(tmpdir(), 'marina-nodes-ssh-'));
    try {
      const keyFile = join(keys, 'marina_key');
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'marina', '-f', keyFile]);
      const privateKey = await readFile(keyFile, 'utf8');
      const fingerprint = 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8';

      await openPage();
      await page.getByTestId('node-add').click();
      const form = page.getByRole('form', { name: 'Add a host' });
      // TLS first, as before; SSH swaps the certificates for a key and a fingerprint.
      expect(await form.getByRole('radio', { name: 'TCP with mutual TLS' }).isChecked()).toBe(true);
      expect(await form.getByRole('textbox', { name: 'CA certificate' }).count()).toBe(1);
      expect(await form.getByRole('textbox', { name: 'Private key' }).count()).toBe(0);
      await form.getByRole('radio', { name: 'SSH', exact: true }).check();
      for (const pem of ['CA certificate', 'Client certificate', 'Client key'])
        expect(await form.getByRole('textbox', { name: pem }).count()).toBe(0);
      const keyField = form.getByRole('textbox', { name: 'Private key' });
      const fingerprintField = form.getByRole('textbox', { name: 'Host key fingerprint' });
      expect(await form.getByLabel('Engine address').getAttribute('placeholder')).toBe('ssh://marina@10.0.0.12');
      expect(await keyField.getAttribute('placeholder')).toBe('-----BEGIN OPENSSH PRIVATE KEY-----');
      const hint = await form.locator(`#${await fingerprintField.getAttribute('aria-describedby')}`).textContent();
      expect(hint).toContain('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
      expect(hint).toContain('docker group');

      await form.getByLabel('Name').fill('node9');
      await form.getByLabel('Engine address').fill('ssh://root@192.0.2.7');
      // The key from its file (no extension, as ssh-keygen names it), the fingerprint pasted.
      await form.getByLabel('Private key file').setInputFiles(keyFile);
      await expect.poll(() => keyField.inputValue()).toBe(privateKey);
      await fingerprintField.fill(fingerprint);
      await page.screenshot({ path: '/tmp/nodes-ssh.png' });
      await page.screenshot({ path: join(screenshots, 'nodes-add-ssh.png') });

      const isAdd = (url: string) => new URL(url).pathname === '/api/v1/nodes';
      const request = page.waitForRequest((r) => isAdd(r.url()) && r.method() === 'POST');
      // Nothing answers at 192.0.2.7: the API says so once its SSH attempts give up.
      const response = page.waitForResponse((r) => isAdd(r.url()) && r.request().method() === 'POST', {
        timeout: 90_000,
      });
      await form.getByRole('button', { name: 'Add host' }).click();
      expect((await request).postDataJSON()).toEqual({
        name: 'node9',
        dockerHost: 'ssh://root@192.0.2.7',
        ssh: { privateKey, hostKeyFingerprint: fingerprint },
      });
      const answer = await response;
      const { code, message } = ((await answer.json()) as { error: { code: string; message: string } }).error;
      expect([answer.status(), code]).toEqual([503, 'MARINA_E_NODE_UNREACHABLE']);
      expect(message).toMatch(/^The Docker engine of node9 does not answer over SSH \(.+\)\. .*docker group/);
      await form.getByRole('alert').filter({ hasText: message }).waitFor();
      await page.screenshot({ path: join(screenshots, 'nodes-add-ssh-refused.png') });
      expect(await t.db.selectFrom('hosts').select('id').where('id', '=', 'node9').executeTakeFirst()).toBeUndefined();
      await form.getByRole('button', { name: 'Cancel' }).click();
      expect(pageErrors).toEqual([]);
    } finally {
      await rm(keys, { recursive: true, force: true });
    }
  });

  it('lists the nodes as their rows say, and follows a change without a reload', async () => {
    await host({
      id: 'node1',
      role: 'manager',
      nodeState: 'ready',
      sinceMinutes: 120,
      cpus: 4,
      memoryGb: 16,
      address: '10.0.0.11',
    });
    await host({
      id: 'node2',
      role: 'worker',
      nodeState: 'down',
      sinceMinutes: 3,
      cpus: 2,
      memoryGb: 8,
      address: '10.0.0.12',
    });
    await host({
      id: 'node3',
      role: 'worker',
      nodeState: 'ready',
      availability: 'drain',
      sinceMinutes: 600,
      cpus: 2,
      memoryGb: 8,
      address: '10.0.0.13',
    });
    // One instance of 4 GB on node1: a quarter of its memory is guaranteed.
    const { organization } = await makeOrganizationWithAdmin(t, admin, { slug: 'acme' });
    const project = await makeProject(as(t, admin), { organization: 'acme' });
    await t.db
      .insertInto('instances')
      .values({
        organization_id: organization.id,
        project_id: project.id,
        name: 'shop',
        stage: 'production',
        odoo_version: '17.0',
        host_id: 'node1',
        db_name: 'mtmemnodesui_shop',
        db_password: 'unused',
        master_password: 'unused',
        admin_login: 'admin@acme.test',
        admin_password: 'unused',
        language: 'en_US',
        cpus: 1.5,
        memory_mb: 4096,
        container_name: 'mtmemnodesui-shop',
        volume_name: 'mtmemnodesui-shop-data',
        status: 'stopped',
      })
      .execute();

    await openPage();
    expect(await page.getByTestId('nodes-empty').count()).toBe(0);
    const names = await table()
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')));
    expect(names).toEqual(['local', 'node1', 'node2', 'node3']);

    const node1 = await row('node1').locator('td').allInnerTexts();
    expect(node1.slice(0, 5)).toEqual([
      'node1',
      'manager',
      'ready\nsince 2 hours ago',
      '10.0.0.11\nDocker 28.3.2',
      '4 CPU · 16 GB',
    ]);
    expect(node1[5]).toContain('4 GB / 16 GB · 1.5 CPU');
    expect(node1[6]).toBe('1');
    expect(
      await row('node1').getByRole('progressbar', { name: 'Memory guaranteed: 25 %' }).getAttribute('aria-valuenow'),
    ).toBe('25');
    expect(await stateOf('node1').locator('.badge-green').textContent()).toBe('ready');
    expect(await stateOf('node2').locator('.badge-red').textContent()).toBe('down');
    expect(await row('node2').getByTestId('node-since').textContent()).toBe('since 3 minutes ago');
    // A drained node says so, and offers Activate instead of Drain.
    expect(await stateOf('node3').locator('.badge').allTextContents()).toEqual(['ready', 'drained']);
    expect(await row('node3').getByTestId('node-activate').count()).toBe(1);
    expect(await row('node3').getByTestId('node-drain').count()).toBe(0);
    expect(await row('node1').getByTestId('node-drain').isEnabled()).toBe(true);
    await page.screenshot({ path: join(screenshots, 'nodes-page.png'), fullPage: true });

    // Swarm sees node2 again (the follower would write this): the page shows it at its next poll.
    await t.db
      .updateTable('hosts')
      .set({ node_state: 'ready', node_state_since: new Date() })
      .where('id', '=', 'node2')
      .execute();
    await table().locator('tr[data-node="node2"][data-node-state="ready"]').waitFor({ timeout: 12_000 });
    expect(await stateOf('node2').locator('.badge-green').textContent()).toBe('ready');
    expect(await row('node2').getByTestId('node-since').textContent()).toMatch(/now|second/);
    expect(pageErrors).toEqual([]);
  });

  it('asks before removing, and shows the API’s refusals of a node with an instance', async () => {
    await openPage();
    // Cancel leaves the node where it is.
    await row('node2').getByTestId('node-remove').click();
    const dialog = page.getByRole('dialog', { name: 'Remove node2?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('leaves the Swarm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await t.db.selectFrom('hosts').select('role').where('id', '=', 'node2').executeTakeFirst()).toEqual({
      role: 'worker',
    });

    // node1 has an instance: the API refuses before reaching any engine, and the dialog says why.
    await row('node1').getByTestId('node-remove').click();
    const refusal = page.getByRole('dialog', { name: 'Remove node1?' });
    await refusal.getByRole('button', { name: 'Remove node' }).click();
    await refusal.getByRole('alert').getByText('node1 has 1 instance: delete them first.').waitFor();
    await page.screenshot({ path: join(screenshots, 'nodes-remove-refused.png') });
    await refusal.getByRole('button', { name: 'Cancel' }).click();
    expect(await row('node1').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it('drains a node with an instance: asks first, follows the move, then drains the empty node in Swarm', async () => {
    // What Swarm is asked, through a manager that answers; the move job stays queued for the test to run.
    const swarm: [string, string][] = [];
    const engine = {
      updateNode: async (id: string, spec: { availability: string }) => void swarm.push([id, spec.availability]),
    } as unknown as SwarmEngine;
    vi.spyOn(t.services.nodes, 'manager').mockResolvedValue({ host: {} as Host, engine });
    const enqueue = vi.spyOn(t.services.runner, 'enqueue').mockResolvedValue();
    await t.db.updateTable('hosts').set({ swarm_node_id: 'swarm-node1' }).where('id', '=', 'node1').execute();
    await openPage();

    // Cancel sends nothing.
    await row('node1').getByTestId('node-drain').click();
    const dialog = page.getByRole('dialog', { name: 'Drain node1?' });
    expect(await dialog.getByTestId('drain-count').textContent()).toBe('its instance moves to another node');
    expect(await dialog.textContent()).toContain('in its own job');
    await page.screenshot({ path: join(screenshots, 'nodes-drain-dialog.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(swarm).toEqual([]);

    await row('node1').getByTestId('node-drain').click();
    await dialog.getByRole('button', { name: 'Drain and move 1 instance' }).click();
    await dialog.waitFor({ state: 'detached' });
    const moves = page.getByTestId('drain-moves');
    const move = moves.getByTestId('drain-move');
    await move.waitFor();
    // node3 is drained and node2 is ready again: placement puts shop on node2.
    expect(await move.getByTestId('drain-move-to').textContent()).toBe('node2');
    expect(await move.getByRole('link').first().textContent()).toMatch(/\/shop$/);
    expect(await move.getByTestId('drain-move-state').textContent()).toContain('waiting for its turn');
    expect(swarm).toEqual([['swarm-node1', 'pause']]);
    expect(enqueue).toHaveBeenCalledTimes(1);
    await table().locator('tr[data-node="node1"][data-availability="pause"]').waitFor({ timeout: 12_000 });
    expect(await stateOf('node1').locator('.badge').allTextContents()).toEqual(['ready', 'draining']);

    // The runner's work, written as it would: the copy while it serves, then the end on node2.
    const jobId = (await move.getAttribute('data-job-id')) ?? '';
    await t.db
      .updateTable('operations')
      .set({ status: 'running', step: 'copy', progress: 40, started_at: new Date() })
      .where('id', '=', jobId)
      .execute();
    await move.getByText('Copying the filestore while Odoo serves').waitFor();
    expect(await move.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('40');
    await page.screenshot({ path: join(screenshots, 'nodes-drain-moving.png') });
    // A reload while it moves: the page reads the node's moves again and follows them as before.
    await page.reload();
    await table().waitFor();
    await move.getByText('Copying the filestore while Odoo serves').waitFor();
    expect(await move.getAttribute('data-job-id')).toBe(jobId);
    expect(await move.getByTestId('drain-move-to').textContent()).toBe('node2');
    expect(await move.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('40');
    expect(await moves.getByTestId('drain-summary').textContent()).toBe('0 of 1 instance moved');
    await page.screenshot({ path: join(screenshots, 'nodes-drain-reloaded.png') });
    const shop = await t.db.selectFrom('instances').select('id').where('name', '=', 'shop').executeTakeFirstOrThrow();
    await t.db.updateTable('instances').set({ host_id: 'node2' }).where('id', '=', shop.id).execute();
    await t.db
      .updateTable('operations')
      .set({
        status: 'succeeded',
        step: 'cleanup',
        progress: 100,
        finished_at: new Date(),
        result: JSON.stringify({ instanceId: shop.id, from: 'node1', to: 'node2', downtimeMs: 4200 }),
      })
      .where('id', '=', jobId)
      .execute();
    await move.getByText('moved — down for 4.2 s').waitFor();
    expect(await moves.getByTestId('drain-summary').textContent()).toBe('1 of 1 instance moved');
    // The node's count follows at the list's next poll: then it is empty, and Drain again is offered.
    const end = moves.getByTestId('drain-end');
    await end.getByText('node1 is empty now: drain it again to drain it in Swarm too.').waitFor({ timeout: 12_000 });
    await page.screenshot({ path: join(screenshots, 'nodes-drain-empty.png') });
    await end.getByRole('button', { name: 'Drain node1' }).click();
    await end.getByText('node1 is empty and drained.').waitFor();
    expect(swarm).toEqual([
      ['swarm-node1', 'pause'],
      ['swarm-node1', 'drain'],
    ]);
    expect(await stateOf('node1').locator('.badge').allTextContents()).toEqual(['ready', 'drained']);
    expect(await row('node1').getByTestId('node-activate').count()).toBe(1);
    await page.screenshot({ path: join(screenshots, 'nodes-drain-done.png') });
    await moves.getByRole('button', { name: 'Dismiss' }).click();
    await moves.waitFor({ state: 'detached' });
    expect(pageErrors).toEqual([]);
  });

  it('refuses an added host whose certificates are not PEM, with the API’s words', async () => {
    await openPage();
    await page.getByTestId('node-add').click();
    const form = page.getByRole('form', { name: 'Add a host' });
    await form.getByLabel('Name').fill('node4');
    await form.getByLabel('Engine address').fill('tcp://10.0.0.14:2376');
    await form.getByRole('combobox', { name: 'Role' }).selectOption('manager');
    await form.getByRole('textbox', { name: 'CA certificate' }).fill('not a certificate');
    await form.getByRole('textbox', { name: 'Client certificate' }).fill('not a certificate');
    await form.getByRole('textbox', { name: 'Client key' }).fill('not a key');
    await page.screenshot({ path: join(screenshots, 'nodes-add.png') });
    await form.getByRole('button', { name: 'Add host' }).click();
    await form.getByText('tls.ca is not a PEM certificate').waitFor();
    expect(await t.db.selectFrom('hosts').select('id').where('id', '=', 'node4').executeTakeFirst()).toBeUndefined();
    await form.getByRole('button', { name: 'Cancel' }).click();
  });
});

describe('anyone but a platform admin', { timeout: 120_000 }, () => {
  it('has no Nodes entry, finds no such page, and the API refuses them', async () => {
    const { admin: orgAdmin } = await makeOrganizationWithAdmin(t, admin, { slug: 'outsider' });
    expect((await as(t, orgAdmin)('GET', '/api/v1/nodes')).statusCode).toBe(403);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const other = await context.newPage();
    other.setDefaultTimeout(15_000);
    await signInPage(other, baseUrl, 'admin@outsider.test', STRONG_PASSWORD);
    const nav = other.getByRole('navigation', { name: 'Main' });
    await nav.waitFor();
    expect(await nav.getByRole('link', { name: 'Nodes' }).count()).toBe(0);
    await other.goto(`${baseUrl}/nodes`);
    await other.getByText('This page does not exist').waitFor();
    expect(await other.getByRole('table', { name: 'Nodes' }).count()).toBe(0);
    await context.close();
  });
});

import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createBackupJob } from '../../src/modules/backups/jobs/specs.js';
import { startJob } from '../../src/modules/instances/job-specs.js';
import { systemContext } from '../../src/platform/context.js';
import { defineJob, type JobSpec, planJob } from '../../src/platform/jobs/define.js';
import { MemoryRuntime } from '../../src/runtime/memory.js';
import { adminBrowser, as, createTestApp, STRONG_PASSWORD, type TestApp } from '../helpers/app.js';
import { launchChromium, signInPage } from '../helpers/browser.js';
import { makeOrganization, makeProject, requestInstance } from '../helpers/factories.js';

/**
 * Jobs in the browser: an upload of a finished backup leaves the instance's buttons enabled; a
 * job that holds the instance says so (which job, a link, Cancel while it waits to retry); the
 * Jobs page filters by kind, status, instance (found by name, never from the whole instance list)
 * and time, kept in the address; a failed job retries.
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
const shots = process.env.JOBS_SCREENS ?? '/work/screens/after';
const STEP_TIMEOUT = 60_000;

let t: TestApp;
let browser: Browser;
let page: Page;
let baseUrl: string;
let instanceId: string;

/** An upload waiting to try again, holding its instance (the test's own kind). */
const waitingUpload = defineJob({
  kind: 'test.waiting_upload',
  input: Type.Object({}, { additionalProperties: false }),
  plan: () => ['upload'],
  control: { cancel: 'waiting' },
  run: async (job) => {
    await job.step('upload', async () => {
      await job.log('Copy to S3 eu, attempt 1 of 4 failed; retrying in 300 s', 'warn');
      await job.wait(300_000, 'retrying the upload to S3 eu');
    });
    return {};
  },
});

async function snap(name: string): Promise<void> {
  await mkdir(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `jobs-${name}.png`), fullPage: true });
}

/** A job on the instance as the runner leaves it (no worker takes it). */
async function jobOnInstance(
  spec: JobSpec,
  input: Record<string, unknown>,
  status: 'running' | 'failed',
  step: string,
) {
  const instance = await t.services.instances.row(instanceId);
  const op = await t.services.operations.insert(t.db, systemContext('test').actor, {
    job: planJob(spec, input as never),
    organizationId: instance.organization_id,
    hostId: instance.host_id,
    target: { type: 'instance', id: instance.id, label: 'erp/main' },
  });
  return t.db
    .updateTable('operations')
    .set({ status, step, started_at: new Date(), ...(status === 'failed' ? { finished_at: new Date() } : {}) })
    .where('id', '=', op.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemjobsui',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  t.services.runner.register(waitingUpload);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const admin = await adminBrowser(t, 'ada@example.com');
  await makeOrganization(as(t, admin));
  const project = await makeProject(as(t, admin));
  instanceId = (await requestInstance(as(t, admin), { project: project.id, name: 'main' })).instance.id;
  // Others for the instance filter to tell apart: one whose name also holds "mai", one not.
  const others = await Promise.all(
    ['maintenance', 'shop'].map(
      async (name) => (await requestInstance(as(t, admin), { project: project.id, name })).instance.id,
    ),
  );
  // The stand-in runs no Odoo: provisioning fails; the instance is then marked running by hand.
  for (const id of [instanceId, ...others])
    await vi.waitFor(async () => expect((await t.services.instances.row(id)).status).toBe('failed'), {
      timeout: 20_000,
      interval: 100,
    });
  await t.db.updateTable('instances').set({ status: 'running' }).where('id', '=', instanceId).execute();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15_000);
  await signInPage(page, baseUrl, 'ada@example.com', STRONG_PASSWORD);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const actions = () => page.locator('.instance-actions');

describe('jobs in the web UI', () => {
  it(
    'an offsite upload of a finished backup does not disable Stop, Restart and Delete',
    async () => {
      const upload = await jobOnInstance(
        createBackupJob,
        { backupId: randomUUID(), destinationIds: [randomUUID()], retention: false },
        'running',
        'upload',
      );
      await page.goto(`${baseUrl}/instances/${instanceId}`);
      await actions().getByRole('button', { name: 'Delete' }).waitFor();
      // The page has asked which jobs hold the instance by now (or it shows the old "any job" rule).
      await page.waitForTimeout(1500);
      await snap('instance-upload');
      expect(await actions().getByRole('button', { name: 'Delete' }).isEnabled()).toBe(true);
      expect(await actions().getByRole('button', { name: 'Restart' }).isEnabled()).toBe(true);
      await t.db
        .updateTable('operations')
        .set({ status: 'failed', finished_at: new Date() })
        .where('id', '=', upload.id)
        .execute();
    },
    STEP_TIMEOUT,
  );

  it(
    'a job holding the instance is named, linked, and cancelled while it waits to retry',
    async () => {
      const instance = await t.services.instances.row(instanceId);
      const op = await t.services.operations.insert(t.db, systemContext('test').actor, {
        job: planJob(waitingUpload, {}),
        organizationId: instance.organization_id,
        hostId: null,
        target: { type: 'instance', id: instanceId, label: 'erp/main' },
      });
      await t.services.runner.enqueue(op);
      await vi.waitFor(
        async () =>
          expect(
            (
              await t.db
                .selectFrom('operations')
                .select('waiting_until')
                .where('id', '=', op.id)
                .executeTakeFirstOrThrow()
            ).waiting_until,
          ).not.toBeNull(),
        { timeout: 10_000 },
      );
      await page.goto(`${baseUrl}/instances/${instanceId}`);
      const reason = page.getByTestId('hold-reason');
      await reason.getByText('Waiting: retrying the upload to S3 eu').waitFor();
      expect(await reason.textContent()).toContain('Start, Stop, Restart and Delete are disabled');
      expect(await reason.getByRole('link', { name: `job ${op.id.slice(0, 8)}` }).getAttribute('href')).toBe(
        `/jobs/${op.id}`,
      );
      const del = actions().getByRole('button', { name: 'Delete' });
      expect(await del.isDisabled()).toBe(true);
      expect(await del.getAttribute('title')).toContain(`job ${op.id.slice(0, 8)}`);
      await snap('instance-held');

      await reason.getByRole('button', { name: 'Cancel the retry' }).click();
      await reason.waitFor({ state: 'detached' });
      await vi.waitFor(async () => expect(await del.isEnabled()).toBe(true), { timeout: 10_000 });
      const row = await t.db.selectFrom('operations').selectAll().where('id', '=', op.id).executeTakeFirstOrThrow();
      expect(row.status).toBe('cancelled');
      await snap('instance-cancelled');
    },
    STEP_TIMEOUT,
  );

  it(
    'filters the Jobs page by kind, status, instance and time, in the address; a failed start is retried',
    async () => {
      const failed = await jobOnInstance(startJob, {}, 'failed', 'start');
      // Every instance list the page asks for: a page of matches each time, never the whole list.
      const asked: URL[] = [];
      const record = (request: Request) => {
        const url = new URL(request.url());
        if (url.pathname === '/api/v1/instances') asked.push(url);
      };
      page.on('request', record);
      await page.goto(`${baseUrl}/jobs`);
      await page.getByRole('table', { name: 'Jobs' }).waitFor();
      await snap('page');
      const filters = page.getByRole('form', { name: 'Filter jobs' });
      await filters.getByLabel('Kind', { exact: true }).selectOption('instance.start');
      await filters.getByLabel('Status', { exact: true }).selectOption('failed');
      // The instance is found by part of its name.
      const picker = filters.getByRole('combobox', { name: 'Instance', exact: true });
      await picker.fill('mai');
      const matches = page.getByRole('listbox', { name: 'Matching instances' });
      await expect
        .poll(async () => matches.locator('.instance-option-name').allTextContents())
        .toEqual(['maintenance', 'main']);
      expect(await picker.getAttribute('aria-expanded')).toBe('true');
      // The list narrows by name at once; the API is asked for "mai" once the typing pauses.
      await expect.poll(() => asked.some((url) => url.searchParams.get('search') === 'mai')).toBe(true);
      await snap('instance-picker');
      await matches.getByRole('option', { name: /^main\b/ }).click();
      expect(await picker.inputValue()).toBe('main');
      expect(await picker.getAttribute('aria-expanded')).toBe('false');
      await filters.getByLabel('Time', { exact: true }).selectOption('24h');
      await page.waitForURL(/kind=instance\.start/);
      const url = new URL(page.url());
      expect(Object.fromEntries(url.searchParams)).toEqual({
        kind: 'instance.start',
        status: 'failed',
        instance: instanceId,
        since: '24h',
      });
      const table = page.getByRole('table', { name: 'Jobs' });
      await vi.waitFor(async () => expect(await table.locator('tbody tr').count()).toBe(1), { timeout: 10_000 });
      expect(await table.locator('tbody tr').first().getAttribute('data-job-kind')).toBe('instance.start');
      await snap('filters');
      // The filters survive a reload: they live in the address; the instance is fetched by its id.
      await page.reload();
      expect(
        await page.getByRole('form', { name: 'Filter jobs' }).getByLabel('Kind', { exact: true }).inputValue(),
      ).toBe('instance.start');
      await expect.poll(async () => picker.inputValue()).toBe('main');
      expect(asked.some((url) => url.searchParams.has('limit'))).toBe(true);
      // The keys choose too: the first match is the active one after typing, Enter takes it.
      await picker.fill('sho');
      await matches.getByRole('option', { name: /^shop\b/ }).waitFor();
      await picker.press('Enter');
      await expect.poll(async () => picker.inputValue()).toBe('shop');
      expect(new URL(page.url()).searchParams.get('instance')).not.toBe(instanceId);
      expect(asked.filter((url) => !url.searchParams.has('limit')).map(String)).toEqual([]);
      page.off('request', record);

      await page.goto(`${baseUrl}/jobs/${failed.id}`);
      await page.getByRole('button', { name: 'Retry' }).click();
      await page.waitForURL((u) => u.pathname.startsWith('/jobs/') && !u.pathname.endsWith(failed.id));
      await page.getByRole('link', { name: 'Retry of an earlier job' }).waitFor();
      await snap('retried');
    },
    STEP_TIMEOUT,
  );
});

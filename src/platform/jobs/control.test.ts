import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
} from '../../../test/helpers/app.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from '../../../test/helpers/factories.js';
import type { OperationStatus } from '../../db/schema.js';
import { createBackupJob } from '../../modules/backups/jobs/specs.js';
import { provisionJob, startJob } from '../../modules/instances/job-specs.js';
import { MemoryRuntime } from '../../runtime/memory.js';
import { systemContext } from '../context.js';
import { defineJob, type JobSpec, planJob } from './define.js';

/**
 * Jobs users can act on, fast (the in-memory runtime, no Docker): which job holds an instance and
 * what it blocks, cancel where it is safe, retry of a failed job, filters; all of it only within
 * the caller's organization.
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Browser;
let acmeAdmin: Browser;
let acmeMember: Browser;
let stranger: Browser;
let instanceId: string;
let organizationId: string;

/** A job that waits to try again, as an upload between attempts does (the test's own kind). */
const waitingJob = defineJob({
  kind: 'test.waiting_upload',
  input: Type.Object({}, { additionalProperties: false }),
  plan: () => ['upload'],
  control: { cancel: 'waiting' },
  run: async (job) => {
    await job.step('upload', async () => {
      await job.log('attempt 1 failed; retrying in 60 s', 'warn');
      await job.wait(60_000, 'retrying the upload to S3 eu');
    });
    return {};
  },
});

/** A job that works for a while without waiting: not safe to stop half-way. */
let releaseBusy: () => void = () => {};
const busyJob = defineJob({
  kind: 'test.busy',
  input: Type.Object({}, { additionalProperties: false }),
  plan: () => ['work'],
  control: { cancel: 'waiting' },
  run: async (job) => {
    await job.step('work', () => new Promise<void>((resolve) => (releaseBusy = resolve)));
    return {};
  },
});

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemjobcontrol',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  t.services.runner.register(waitingJob);
  t.services.runner.register(busyJob);
  admin = await adminBrowser(t);
  const acme = await makeOrganizationWithAdmin(t, admin, { slug: 'acme' });
  organizationId = acme.organization.id;
  acmeAdmin = acme.admin;
  acmeMember = await memberBrowser(t, admin, 'acme', 'member@acme.test', 'member');
  stranger = (await makeOrganizationWithAdmin(t, admin, { slug: 'other' })).admin;
  const project = await makeProject(as(t, admin));
  const created = await requestInstance(as(t, admin), { project: project.id, name: 'main' });
  instanceId = created.instance.id;
  // The stand-in runs no Odoo: provisioning fails; the instance is then marked running by hand.
  await vi.waitFor(async () => expect((await t.services.instances.row(instanceId)).status).toBe('failed'), {
    timeout: 20_000,
    interval: 100,
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

beforeEach(async () => {
  await t.db.updateTable('operations').set({ status: 'failed' }).where('status', 'in', ['queued', 'running']).execute();
  await t.db.updateTable('instances').set({ status: 'running' }).where('id', '=', instanceId).execute();
});

/** A job on the instance, written as the runner leaves it at `step` (no worker takes it). */
async function jobOnInstance(
  spec: JobSpec,
  input: Record<string, unknown>,
  status: OperationStatus,
  step: string | null = null,
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
    .set({ status, step, ...(status === 'failed' ? { finished_at: new Date() } : {}) })
    .where('id', '=', op.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

const backupInput = () => ({ backupId: randomUUID(), destinationIds: [randomUUID()], retention: false });

describe('which job holds an instance', () => {
  it('a backup uploading its finished file does not lock the instance: restart is accepted', async () => {
    const uploading = await jobOnInstance(createBackupJob, backupInput(), 'running', 'upload');
    const holding = await as(t, acmeAdmin)('GET', `/api/v1/jobs/holding?target=${instanceId}`);
    expect(holding.statusCode, holding.body).toBe(200);
    expect(holding.json()).toEqual({ blocks: [], jobs: [] });
    const job = await as(t, acmeAdmin)('GET', `/api/v1/jobs/${uploading.id}`);
    expect(job.json().job.holdsTarget).toBe(false);
    const restart = await as(t, acmeAdmin)('POST', `/api/v1/instances/${instanceId}/restart`, {});
    expect(restart.statusCode, restart.body).toBe(202);
  });

  it('a backup still writing holds it: the answer names the job and the actions it blocks', async () => {
    const writing = await jobOnInstance(createBackupJob, backupInput(), 'running', 'write');
    const holding = await as(t, acmeAdmin)('GET', `/api/v1/jobs/holding?target=${instanceId}`);
    expect(holding.statusCode, holding.body).toBe(200);
    const body = holding.json<{ blocks: string[]; jobs: { id: string; kind: string; target: { label: string } }[] }>();
    expect(body.blocks).toEqual(expect.arrayContaining(['start', 'stop', 'restart', 'delete']));
    expect(body.jobs.map((j) => [j.id, j.kind, j.target.label])).toEqual([[writing.id, 'backup.create', 'erp/main']]);
    const restart = await as(t, acmeAdmin)('POST', `/api/v1/instances/${instanceId}/restart`, {});
    expect(restart.statusCode).toBe(409);
    expect(restart.json().error.code).toBe('MARINA_E_INSTANCE_BUSY');
    expect(restart.json().error.message).toContain(writing.id);
    // A stranger learns nothing about another organization's jobs.
    const seen = await as(t, stranger)('GET', `/api/v1/jobs/holding?target=${instanceId}`);
    expect(seen.json()).toEqual({ blocks: [], jobs: [] });
  });
});

describe('cancel', () => {
  it('cancels a queued start (audited) and refuses a queued provisioning', async () => {
    const queued = await jobOnInstance(startJob, {}, 'queued');
    expect((await as(t, acmeAdmin)('GET', `/api/v1/jobs/${queued.id}`)).json().job.can.cancel).toBe(true);
    const cancelled = await as(t, acmeAdmin)('POST', `/api/v1/jobs/${queued.id}/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().job.status).toBe('cancelled');
    expect(cancelled.json().job.error.code).toBe('MARINA_E_CANCELLED');
    const events = await as(t, admin)('GET', '/api/v1/audit?limit=20');
    expect(events.json().events.map((e: { action: string }) => e.action)).toContain('job.cancel');

    const provision = await jobOnInstance(provisionJob, {}, 'queued');
    const refused = await as(t, acmeAdmin)('POST', `/api/v1/jobs/${provision.id}/cancel`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('MARINA_E_JOB_NOT_CANCELLABLE');
  });

  it('cancels a job while it waits to try again, not while it works', async () => {
    const call = as(t, acmeAdmin);
    const busy = await t.services.operations.insert(t.db, systemContext('test').actor, {
      job: planJob(busyJob, {}),
      organizationId,
      hostId: null,
    });
    await t.services.runner.enqueue(busy);
    await vi.waitFor(
      async () => expect((await t.services.operations.get(systemContext('t').actor, busy.id)).step).toBe('work'),
      {
        timeout: 10_000,
      },
    );
    const working = await call('POST', `/api/v1/jobs/${busy.id}/cancel`);
    expect(working.statusCode).toBe(409);
    expect(working.json().error.code).toBe('MARINA_E_JOB_NOT_CANCELLABLE');
    releaseBusy();

    const op = await t.services.operations.insert(t.db, systemContext('test').actor, {
      job: planJob(waitingJob, {}),
      organizationId,
      hostId: null,
    });
    await t.services.runner.enqueue(op);
    await vi.waitFor(
      async () => {
        const job = (await call('GET', `/api/v1/jobs/${op.id}`)).json().job;
        expect(job.waitingUntil).not.toBeNull();
        expect(job.waitingFor).toBe('retrying the upload to S3 eu');
        expect(job.can.cancel).toBe(true);
      },
      { timeout: 10_000 },
    );
    // Another organization's admin does not see it; a member of its own may not cancel it.
    expect((await as(t, stranger)('POST', `/api/v1/jobs/${op.id}/cancel`)).statusCode).toBe(404);
    expect((await as(t, acmeMember)('POST', `/api/v1/jobs/${op.id}/cancel`)).statusCode).toBe(403);
    const started = Date.now();
    const cancelled = await call('POST', `/api/v1/jobs/${op.id}/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(Date.now() - started).toBeLessThan(8000);
    const job = cancelled.json().job;
    expect(job.status).toBe('cancelled');
    expect(job.error.message).toContain('Cancelled by admin@acme.test');
    expect(job.waitingUntil).toBeNull();
  });
});

describe('retry', () => {
  it('queues a failed start again, linked to it; refuses what cannot simply run again', async () => {
    const failed = await jobOnInstance(startJob, {}, 'failed', 'start');
    expect((await as(t, stranger)('POST', `/api/v1/jobs/${failed.id}/retry`)).statusCode).toBe(404);
    const retried = await as(t, acmeAdmin)('POST', `/api/v1/jobs/${failed.id}/retry`);
    expect(retried.statusCode, retried.body).toBe(201);
    const job = retried.json().job;
    expect(job).toMatchObject({ kind: 'instance.start', retryOf: failed.id, target: { id: instanceId } });
    expect(job.id).not.toBe(failed.id);
    const events = await as(t, admin)('GET', '/api/v1/audit?limit=20');
    expect(events.json().events.map((e: { action: string }) => e.action)).toContain('job.retry');

    const provision = await jobOnInstance(provisionJob, {}, 'failed', 'health');
    const refused = await as(t, acmeAdmin)('POST', `/api/v1/jobs/${provision.id}/retry`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('MARINA_E_JOB_NOT_RETRYABLE');
  });
});

describe('filters', () => {
  it('by kind, status, instance and time; bad times are refused', async () => {
    const failed = await jobOnInstance(startJob, {}, 'failed', 'start');
    const since = new Date(Date.now() - 60_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    const q = `kind=instance.start&status=failed&target=${instanceId}&since=${since}&until=${until}`;
    const found = await as(t, acmeAdmin)('GET', `/api/v1/jobs?${q}`);
    expect(found.statusCode, found.body).toBe(200);
    const jobs = found.json().jobs as { id: string; kind: string; status: string }[];
    expect(jobs.map((j) => j.id)).toContain(failed.id);
    expect(jobs.every((j) => j.kind === 'instance.start' && j.status === 'failed')).toBe(true);
    const later = await as(t, acmeAdmin)('GET', `/api/v1/jobs?since=${until}`);
    expect(later.json().jobs).toEqual([]);
    expect((await as(t, acmeAdmin)('GET', `/api/v1/jobs?since=${until}&until=${since}`)).statusCode).toBe(400);
    expect((await as(t, acmeAdmin)('GET', '/api/v1/jobs?since=yesterday')).statusCode).toBe(400);
    expect((await as(t, stranger)('GET', `/api/v1/jobs?${q}`)).json().jobs).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { MemoryRuntime } from '../../runtime/memory.js';

/**
 * Recovery branches of the start and delete jobs, fast: on the in-memory stand-in runtime (no
 * Docker), with the test cluster as the "external" database server. The stand-in runs no Odoo,
 * so provisioning fails; the tests take that failed instance as their starting point.
 */
const IMAGE = 'marina-test/odoo-standin';
const namespace = 'mtmemlifecycle';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Browser;

interface JobView {
  status: string;
  error: { step: string | null; message: string } | null;
}

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: namespace,
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
  await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
});

afterAll(async () => {
  await t?.close();
});

/** The job once it has ended. */
async function ended(jobId: string): Promise<JobView> {
  return vi.waitFor(
    async () => {
      const job = (await as(t, admin)('GET', `/api/v1/jobs/${jobId}`)).json<{ job: JobView }>().job;
      expect(['succeeded', 'failed', 'cancelled']).toContain(job.status);
      return job;
    },
    { timeout: 20_000, interval: 100 },
  );
}

/** An instance whose provisioning failed (and was undone), so that no job owns it any more. */
async function failedInstance(name: string): Promise<string> {
  const call = as(t, admin);
  const project = await makeProject(call, { name });
  const created = await requestInstance(call, { project: project.id, name });
  expect((await ended(created.job.id)).status).toBe('failed');
  await vi.waitFor(async () => expect((await t.services.instances.row(created.instance.id)).status).toBe('failed'), {
    timeout: 10_000,
    interval: 100,
  });
  return created.instance.id;
}

describe('instance jobs on the stand-in runtime', () => {
  it('a start whose image is missing on the host leaves the instance exited, saying why, with no container', async () => {
    const id = await failedInstance('nostart');
    // As if it had been provisioned and stopped: a start is allowed again.
    await t.services.instances.setStatus(id, 'stopped', null);
    memory.images.delete(IMAGE);
    try {
      const submitted = await as(t, admin)('POST', `/api/v1/instances/${id}/start`, {});
      expect(submitted.statusCode, submitted.body).toBe(202);
      const job = await ended(submitted.json<{ job: { id: string } }>().job.id);
      expect(job.status).toBe('failed');
      expect(job.error?.step).toBe('start');
      const row = await vi.waitFor(
        async () => {
          const current = await t.services.instances.row(id);
          expect(current.status).toBe('exited');
          return current;
        },
        { timeout: 10_000, interval: 100 },
      );
      expect(row.status_detail).toContain(`no such image ${IMAGE}`);
      expect(await memory.state(row.container_name)).toBeUndefined();
    } finally {
      memory.images.add(IMAGE);
    }
  });

  it('a delete that cannot reach the host keeps the instance listed as failed, and a later delete finishes', async () => {
    const id = await failedInstance('nodelete');
    memory.unreachable = 'ECONNREFUSED';
    try {
      const submitted = await as(t, admin)('DELETE', `/api/v1/instances/${id}`);
      expect(submitted.statusCode, submitted.body).toBe(202);
      const job = await ended(submitted.json<{ job: { id: string } }>().job.id);
      expect(job.status).toBe('failed');
      const row = await vi.waitFor(
        async () => {
          const current = await t.services.instances.row(id);
          expect(current.status_detail).toMatch(/^Delete failed: /);
          return current;
        },
        { timeout: 10_000, interval: 100 },
      );
      // Not "deleting" forever, nor forgotten while its resources may remain: marked for another delete.
      expect(row.status).toBe('failed');
    } finally {
      memory.unreachable = undefined;
    }
    const again = await as(t, admin)('DELETE', `/api/v1/instances/${id}`);
    expect(again.statusCode, again.body).toBe(202);
    expect((await ended(again.json<{ job: { id: string } }>().job.id)).status).toBe('succeeded');
    await expect(t.services.instances.row(id)).rejects.toThrow();
  });
});

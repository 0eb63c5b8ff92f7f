import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { databaseExists } from '../../adapters/postgres/admin.js';
import { MemoryRuntime } from '../../runtime/memory.js';

/**
 * A recovery branch, fast: provisioning on the in-memory stand-in runtime (no Docker), with the
 * test cluster as the "external" database server. The stand-in runs no Odoo, so initialization
 * fails, and what the job made before (database, role, volume) must be gone again.
 */
const IMAGE = 'marina-test/odoo-standin';
const namespace = 'mtmemrecovery';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Browser;

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

describe('provisioning on the stand-in runtime', () => {
  it('undoes what it made when Odoo cannot initialize the database, and says which step failed', async () => {
    const call = as(t, admin);
    const project = await makeProject(call);
    const created = await requestInstance(call, { project: project.id, name: 'broken' });
    const job = await vi.waitFor(
      async () => {
        const current = (await call('GET', `/api/v1/jobs/${created.job.id}`)).json<{
          job: { status: string; error: { step: string | null; message: string } | null };
        }>().job;
        expect(['succeeded', 'failed', 'cancelled']).toContain(current.status);
        return current;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(job.status).toBe('failed');
    expect(job.error?.step).toBe('initialize');
    expect(job.error?.message).toContain('exit code 127');
    // The recovery runs once the job is recorded as failed.
    const row = await vi.waitFor(
      async () => {
        const current = await t.services.instances.row(created.instance.id);
        expect(current.status).toBe('failed');
        return current;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(row.status_detail).toContain('initialize');
    expect(await memory.volumeExists(row.volume_name)).toBe(false);
    expect((await memory.list(namespace, 'odoo')).map((w) => w.name)).toEqual([]);
    const server = await t.services.databaseServers.get(row.database_server_id ?? '');
    expect(await databaseExists(await t.services.databaseServers.connection(server), row.db_name)).toBe(false);
  });
});

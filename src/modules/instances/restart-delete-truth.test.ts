import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import {
  makeOrganization,
  makeOrganizationWithAdmin,
  makeProject,
  type Project,
  requestInstance,
} from '../../../test/helpers/factories.js';
import { MemoryRuntime } from '../../runtime/memory.js';

/**
 * "Restart all" names what it restarts, and a delete says where its safety backup goes and for how
 * long; afterwards the project lists the deleted instances that can come back. On the in-memory
 * runtime: only what the API answers is looked at.
 */
const IMAGE = 'marina-test/odoo-standin';
let t: TestApp;
let admin: Browser;
let project: Project;

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mttruthrestart',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => new MemoryRuntime({ images: [IMAGE] }) },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
  await makeOrganization(as(t, admin));
  project = await makeProject(as(t, admin), { name: 'erp' });
});

afterAll(() => t?.close());

/** An instance taken as running once its provisioning (which fails on the stand-in) has ended. */
async function runningInstance(name: string, stage: 'production' | 'staging'): Promise<string> {
  const call = as(t, admin);
  const made = await requestInstance(call, { project: project.id, name, stage });
  await vi.waitFor(
    async () => {
      expect((await call('GET', `/api/v1/jobs/${made.job.id}`)).json().job.status).toBe('failed');
      // The job is recorded failed before its undo runs, and the undo ends by marking the instance
      // failed: set it running only after that, or the undo's late write wins.
      expect((await call('GET', `/api/v1/instances/${made.instance.id}`)).json().instance.status).toBe('failed');
    },
    { timeout: 20_000, interval: 100 },
  );
  await t.db.updateTable('instances').set({ status: 'running' }).where('id', '=', made.instance.id).execute();
  return made.instance.id;
}

describe('deleting an instance', () => {
  it('answers where its safety backup goes and for how long', async () => {
    const id = await runningInstance('doomed', 'staging');
    const del = await as(t, admin)('DELETE', `/api/v1/instances/${id}`);
    expect(del.statusCode, del.body).toBe(202);
    expect(del.json().safetyBackup).toEqual({
      contents: 'the database and the filestore',
      where: 'on the Marina server, in its local backup storage',
      keptUntil: null,
      kept: 'until someone deletes it (retention only removes scheduled backups)',
    });
  }, 60_000);

  it("lists a project's deleted instances whose safety backup is kept, to its organization only", async () => {
    const organizationId = project.organizationId;
    const kept = (label: string, extra: Record<string, unknown> = {}) => ({
      organization_id: organizationId,
      instance_id: null,
      instance_label: label,
      odoo_version: '17.0',
      kind: 'full' as const,
      format: 'native' as const,
      trigger: 'pre-delete' as const,
      status: 'completed' as const,
      file_name: `gone/${label.replace('/', '-')}.tar.zst`,
      size_bytes: 1234,
      sha256: 'a'.repeat(64),
      created_by: 'admin@example.com',
      completed_at: new Date(),
      ...extra,
    });
    await t.db
      .insertInto('backups')
      .values([
        kept('erp/gone'),
        kept('erp/gone-file', { local_status: 'deleted' }),
        kept('erp/failed', { status: 'failed' }),
        kept('crm/gone'),
        kept('erp/manual', { trigger: 'manual' }),
      ])
      .execute();
    const answer = await as(t, admin)('GET', `/api/v1/projects/${project.id}/deleted-instances`);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json().backups.map((b: { instanceLabel: string }) => b.instanceLabel)).toEqual(['erp/gone']);
    expect(answer.json().policy.keptUntil).toBeNull();

    const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'stranger' });
    expect((await as(t, stranger)('GET', `/api/v1/projects/${project.id}/deleted-instances`)).statusCode).toBe(404);
  });
});

describe('restart all', () => {
  it('lists what it will restart, production first, and restarts exactly that', async () => {
    await runningInstance('web-staging', 'staging');
    await runningInstance('web-prod', 'production');
    const call = as(t, admin);
    // What is restarted follows the records: Docker's events stop changing them here (on a busy
    // machine a late one turned production "exited" between the preview and the restart).
    await t.services.status.stop();
    await vi.waitFor(
      async () => {
        await t.db.updateTable('instances').set({ status: 'running' }).where('name', 'like', 'web-%').execute();
        const preview = await call('GET', '/api/v1/instances/restart-all');
        expect(preview.statusCode, preview.body).toBe(200);
        // Only this test's instances: the one deleted above may be back to running on the stand-in.
        const listed = (preview.json().instances as { name: string; project: string; stage: string }[]).filter((i) =>
          i.name.startsWith('web-'),
        );
        expect(listed.map((i) => `${i.project}/${i.name} ${i.stage}`)).toEqual([
          'erp/web-prod production',
          'erp/web-staging staging',
        ]);
      },
      { timeout: 15_000, interval: 200 },
    );
    const restarted = await call('POST', '/api/v1/instances/restart-all');
    expect(restarted.statusCode).toBe(202);
    expect(
      restarted
        .json()
        .jobs.map((j: { target: { label: string } }) => j.target.label)
        .filter((label: string) => label.startsWith('erp/web-'))
        .sort(),
    ).toEqual(['erp/web-prod', 'erp/web-staging']);
    // Now each has a job at work: nothing more would be restarted.
    const left = (await call('GET', '/api/v1/instances/restart-all')).json().instances as { name: string }[];
    expect(left.filter((i) => i.name.startsWith('web-'))).toEqual([]);
  }, 60_000);

  it('is for platform admins only', async () => {
    const { admin: orgAdmin } = await makeOrganizationWithAdmin(t, admin, { slug: 'other' });
    expect((await as(t, orgAdmin)('GET', '/api/v1/instances/restart-all')).statusCode).toBe(403);
  });
});

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { MemoryRuntime } from '../../runtime/memory.js';

/**
 * A project as its page shows it: the instances by stage with their last finished backup, and the
 * same "not found" for outsiders as the project itself. On the in-memory stand-in runtime (no
 * Docker): the instances' own state does not matter here.
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Browser;

interface Column {
  id: string;
  name: string;
  stage: string;
  lastBackup: { id: string; status: string; problem: boolean } | null;
}
interface Overview {
  project: { id: string; name: string };
  stages: { production: Column[]; staging: Column[]; development: Column[] };
}

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemprojects',
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

/** A backup record of an instance, as the backup jobs leave it. */
async function recordBackup(instanceId: string, status: 'completed' | 'failed' | 'running', minutesAgo: number) {
  const instance = await t.services.instances.row(instanceId);
  const at = new Date(Date.now() - minutesAgo * 60_000);
  const row = await t.db
    .insertInto('backups')
    .values({
      organization_id: instance.organization_id,
      instance_id: instance.id,
      instance_label: `erp/${instance.name}`,
      odoo_version: instance.odoo_version,
      kind: 'full',
      format: 'zip',
      trigger: 'manual',
      status,
      file_name: `${instance.id}/${minutesAgo}.zip`,
      error: status === 'failed' ? 'pg_dump failed' : null,
      sha256: status === 'completed' ? 'ab'.repeat(32) : null,
      size_bytes: status === 'completed' ? 1024 : null,
      created_by: 'admin@example.com',
      created_at: at,
      completed_at: status === 'running' ? null : at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

describe('GET /api/v1/projects/:id', () => {
  it('answers the instances by stage, each with its last finished backup', async () => {
    const call = as(t, admin);
    const project = await makeProject(call, { name: 'erp' });
    const prod = await requestInstance(call, { project: project.id, name: 'prod', stage: 'production' });
    const staging = await requestInstance(call, { project: project.id, name: 'staging', stage: 'staging' });
    const dev = await requestInstance(call, { project: project.id, name: 'dev', stage: 'development' });
    const other = await makeProject(call, { name: 'other' });
    await requestInstance(call, { project: other.id, name: 'elsewhere', stage: 'production' });

    // Production: an older completed backup, a newer failed one, and one still running (not finished).
    await recordBackup(prod.instance.id, 'completed', 120);
    const failed = await recordBackup(prod.instance.id, 'failed', 60);
    await recordBackup(prod.instance.id, 'running', 1);
    const stagingBackup = await recordBackup(staging.instance.id, 'completed', 30);

    const answer = await call('GET', `/api/v1/projects/${project.id}`);
    expect(answer.statusCode, answer.body).toBe(200);
    const { project: shown, stages } = answer.json<Overview>();
    expect(shown).toMatchObject({ id: project.id, name: 'erp' });
    expect(stages.production.map((i) => i.name)).toEqual(['prod']);
    expect(stages.staging.map((i) => i.name)).toEqual(['staging']);
    expect(stages.development.map((i) => i.name)).toEqual(['dev']);
    expect(stages.production[0]).toMatchObject({ id: prod.instance.id, stage: 'production' });
    expect(stages.production[0]?.lastBackup).toMatchObject({ id: failed, status: 'failed', problem: true });
    expect(stages.staging[0]?.lastBackup).toMatchObject({ id: stagingBackup, status: 'completed', problem: false });
    expect(stages.development[0]).toMatchObject({ id: dev.instance.id, lastBackup: null });
  });

  it('is "not found" for an organization admin of another organization', async () => {
    const project = await makeProject(as(t, admin), { name: 'secret' });
    const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'globex' });
    const refused = await as(t, stranger)('GET', `/api/v1/projects/${project.id}`);
    expect(refused.statusCode).toBe(404);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('MARINA_E_NOT_FOUND');
    expect(refused.body).not.toContain('secret');
    // Their own project answers, with empty stages.
    const own = await makeProject(as(t, stranger), { organization: 'globex', name: 'mine' });
    const mine = await as(t, stranger)('GET', `/api/v1/projects/${own.id}`);
    expect(mine.statusCode).toBe(200);
    expect(mine.json<Overview>().stages).toEqual({ production: [], staging: [], development: [] });
  });
});

describe('GET /api/v1/projects', () => {
  it("counts each project's instances by stage, and shows a stranger only their own projects' counts", async () => {
    const call = as(t, admin);
    const project = await makeProject(call, { name: 'counted' });
    await requestInstance(call, { project: project.id, name: 'main', stage: 'production' });
    await requestInstance(call, { project: project.id, name: 'test1', stage: 'staging' });
    await requestInstance(call, { project: project.id, name: 'test2', stage: 'staging' });
    const empty = await makeProject(call, { name: 'empty' });

    type Listed = { id: string; instanceCounts: Record<string, number> };
    const listed = (await call('GET', '/api/v1/projects?organization=acme')).json<{ projects: Listed[] }>().projects;
    expect(listed.find((p) => p.id === project.id)?.instanceCounts).toEqual({
      production: 1,
      staging: 2,
      development: 0,
    });
    expect(listed.find((p) => p.id === empty.id)?.instanceCounts).toEqual({
      production: 0,
      staging: 0,
      development: 0,
    });

    const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'initech' });
    const theirs = (await as(t, stranger)('GET', '/api/v1/projects')).json<{ projects: Listed[] }>().projects;
    expect(theirs.map((p) => p.id)).not.toContain(project.id);
  });
});

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { plansWorld } from '../src/modules/plans/plans-test-support.js';
import { MemoryRuntime } from '../src/runtime/memory.js';
import { adminBrowser, as, type Browser, createTestApp, memberBrowser, type TestApp } from './helpers/app.js';
import { makeOrganization } from './helpers/factories.js';

/**
 * Plans and their quotas through the API, on the real database (the in-memory runtime stands in
 * for Docker: nothing here runs a container). Every limit is asked by the operations it governs
 * and each refusal must name the limit, the usage and the plan.
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Browser;
const { call, makePlan, makeCustomer, createInstance, madeInstance, measured, MB } = plansWorld(
  () => t,
  () => admin,
);

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemquotas',
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_INSTANCE_BIND: '127.0.0.1',
    },
    { runtime: () => memory },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
});

afterAll(async () => {
  await t?.close();
});

function expectQuota(
  response: { statusCode: number; body: string; json<T>(): T },
  expected: { limit: string; usage: number; allowed: number; plan: string; says: RegExp },
) {
  expect(response.statusCode, response.body).toBe(409);
  const { error } = response.json<{
    error: { code: string; message: string; details: Record<string, unknown> };
  }>();
  expect(error.code).toBe('MARINA_E_QUOTA_EXCEEDED');
  const { says, ...details } = expected;
  expect(error.details).toEqual(details);
  expect(error.message).toMatch(says);
  expect(error.message).toContain(expected.plan);
}

describe('plans (platform admins)', () => {
  it('makes, lists, changes and archives a plan with integer prices, audited', async () => {
    const made = await call('POST', '/api/v1/plans', {
      slug: 'starter',
      name: 'Starter',
      public: true,
      trialDays: 14,
      limits: { maxProduction: 1, maxCpus: 1.5 },
      prices: [
        { currency: 'EUR', period: 'month', amountMinor: 1990 },
        { currency: 'JPY', period: 'year', amountMinor: 30000 },
      ],
    });
    expect(made.statusCode, made.body).toBe(201);
    const plan = made.json<{ plan: { id: string; limits: Record<string, unknown>; prices: unknown[] } }>().plan;
    expect(plan.limits).toMatchObject({ maxProduction: 1, maxCpus: 1.5, maxStaging: null });
    expect(plan.prices).toEqual([
      { currency: 'EUR', period: 'month', amountMinor: 1990 },
      { currency: 'JPY', period: 'year', amountMinor: 30000 },
    ]);
    const hidden = await makePlan({}, { public: false });

    const publicList = await t.app.inject({ method: 'GET', url: '/api/v1/signup/plans' });
    expect(publicList.statusCode).toBe(200);
    const publicSlugs = publicList.json<{ plans: { slug: string }[] }>().plans.map((p) => p.slug);
    expect(publicSlugs).toContain('starter');
    expect(publicSlugs).not.toContain(hidden.slug);

    const patched = await call('PATCH', `/api/v1/plans/${plan.id}`, {
      prices: [{ currency: 'USD', period: 'month', amountMinor: 2500 }],
      limits: { maxProduction: 2 },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(
      patched.json<{ plan: { prices: unknown[]; limits: { maxProduction: number; maxCpus: number } } }>().plan,
    ).toMatchObject({
      prices: [{ currency: 'USD', period: 'month', amountMinor: 2500 }],
      limits: { maxProduction: 2, maxCpus: 1.5 },
    });

    const archived = await call('DELETE', `/api/v1/plans/${plan.id}`);
    expect(archived.statusCode, archived.body).toBe(200);
    const afterArchive = await t.app.inject({ method: 'GET', url: '/api/v1/signup/plans' });
    expect(afterArchive.json<{ plans: { slug: string }[] }>().plans.map((p) => p.slug)).not.toContain('starter');
    expect((await call('GET', `/api/v1/plans/${hidden.id}`)).statusCode).toBe(200);

    const actions = await t.db
      .selectFrom('audit_events')
      .select('action')
      .where('target_id', '=', plan.id)
      .orderBy('id')
      .execute();
    expect(actions.map((a) => a.action)).toEqual(['plan.create', 'plan.update', 'plan.archive']);
  });

  it('refuses fractional or malformed prices and limits', async () => {
    for (const prices of [
      [{ currency: 'EUR', period: 'month', amountMinor: 19.9 }],
      [{ currency: 'eur', period: 'month', amountMinor: 1990 }],
      [{ currency: 'EURO', period: 'month', amountMinor: 1990 }],
      [{ currency: 'EUR', period: 'week', amountMinor: 1990 }],
      [{ currency: 'EUR', period: 'month', amountMinor: -1 }],
      [
        { currency: 'EUR', period: 'month', amountMinor: 1 },
        { currency: 'EUR', period: 'month', amountMinor: 2 },
      ],
    ]) {
      const refused = await call('POST', '/api/v1/plans', { slug: 'bad-price', name: 'Bad', prices });
      expect(refused.statusCode, JSON.stringify(prices)).toBe(400);
    }
    const cpus = await call('POST', '/api/v1/plans', { slug: 'bad-cpus', name: 'Bad', limits: { maxCpus: 1.25 } });
    expect(cpus.statusCode).toBe(400);
    const count = await t.db
      .selectFrom('plans')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('slug', 'in', ['bad-price', 'bad-cpus'])
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('is for platform admins only', async () => {
    await makeOrganization(call, { slug: 'outsiders' });
    const owner = await memberBrowser(t, admin, 'outsiders', 'owner@outsiders.test', 'owner');
    const asOwner = as(t, owner);
    expect((await asOwner('GET', '/api/v1/plans')).statusCode).toBe(403);
    expect((await asOwner('POST', '/api/v1/plans', { slug: 'mine', name: 'Mine' })).statusCode).toBe(403);
  });
});

describe('quotas', () => {
  it('lets an organization without a subscription do anything', async () => {
    const { project } = await makeCustomer();
    for (const name of ['a', 'b', 'c'])
      expect((await createInstance(project.id, name, 'production')).statusCode).toBe(202);
  });

  it('refuses each stage beyond its count, naming limit, usage and plan', async () => {
    const plan = await makePlan({ maxProduction: 1, maxStaging: 1, maxDevelopment: 2 });
    const { project } = await makeCustomer(plan.id);
    const cases = [
      { stage: 'production', limit: 'maxProduction', allowed: 1 },
      { stage: 'staging', limit: 'maxStaging', allowed: 1 },
      { stage: 'development', limit: 'maxDevelopment', allowed: 2 },
    ];
    for (const { stage, limit, allowed } of cases) {
      for (let i = 0; i < allowed; i++)
        expect((await createInstance(project.id, `${stage}-${i}`, stage)).statusCode).toBe(202);
      expectQuota(await createInstance(project.id, `${stage}-over`, stage), {
        limit,
        usage: allowed,
        allowed,
        plan: plan.name,
        says: new RegExp(`allows ${allowed} ${stage} instances?; you have ${allowed}`),
      });
    }
  });

  it('counts no staging instance when the plan has no staging', async () => {
    const plan = await makePlan({}, { stagingAllowed: false });
    const { project } = await makeCustomer(plan.id);
    expectQuota(await createInstance(project.id, 'staging', 'staging'), {
      limit: 'stagingAllowed',
      usage: 0,
      allowed: 0,
      plan: plan.name,
      says: /does not include staging/,
    });
  });

  it('refuses sizes over CPUs, memory and workers (refused, never capped)', async () => {
    const plan = await makePlan({ maxCpus: 2, maxMemoryMb: 4096, maxWorkers: 3 });
    const { project } = await makeCustomer(plan.id);
    expectQuota(await createInstance(project.id, 'big-cpu', 'development', { cpus: 4, memoryMb: 768 }), {
      limit: 'maxCpus',
      usage: 4,
      allowed: 2,
      plan: plan.name,
      says: /allows 2 CPUs per instance; this asks for 4/,
    });
    expectQuota(await createInstance(project.id, 'big-mem', 'development', { cpus: 1, memoryMb: 8192 }), {
      limit: 'maxMemoryMb',
      usage: 8192,
      allowed: 4096,
      plan: plan.name,
      says: /4096 MB of memory per instance; this asks for 8192 MB/,
    });
    // 2 CPUs and 4096 MB make 5 workers (2 × 2 + 1) by the sizing rule.
    expectQuota(await createInstance(project.id, 'many-workers', 'development', { cpus: 2, memoryMb: 4096 }), {
      limit: 'maxWorkers',
      usage: 5,
      allowed: 3,
      plan: plan.name,
      says: /allows 3 Odoo workers per instance/,
    });
    expect((await createInstance(project.id, 'fits', 'development', { cpus: 1, memoryMb: 2048 })).statusCode).toBe(202);
  });

  it('refuses new data (create, clone, restore as new) once storage is full, and lets it go on below', async () => {
    const plan = await makePlan({ storageMb: 100 });
    const { organization, project } = await makeCustomer(plan.id);
    const source = await madeInstance(project.id, 'prod', 'production');
    await measured(source, organization.id, 100 * MB);
    const full = {
      limit: 'storageMb',
      usage: 100,
      allowed: 100,
      plan: plan.name,
      says: /allows 100 MB of storage; you use 100 MB/,
    };
    expectQuota(await createInstance(project.id, 'dev', 'development'), full);
    const newInstance = {
      project: project.id,
      name: 'copy',
      stage: 'development',
      memoryMb: 768,
      adminLogin: 'o@acme.test',
    };
    expectQuota(await call('POST', `/api/v1/instances/${source}/clone`, { newInstance }), full);
    const backup = await completedBackup(source);
    expectQuota(await call('POST', `/api/v1/backups/${backup}/restore`, { newInstance }), full);
    // Restoring over the instance itself adds nothing: it goes on.
    const over = await call('POST', `/api/v1/backups/${backup}/restore`, { instanceId: source, confirm: 'prod' });
    expect(over.statusCode, over.body).toBe(202);
    await measured(source, organization.id, 99 * MB);
    expect((await createInstance(project.id, 'dev', 'development')).statusCode).toBe(202);
  });

  it('refuses clone and restore as new beyond the stage count', async () => {
    const plan = await makePlan({ maxDevelopment: 0 });
    const { project } = await makeCustomer(plan.id);
    const source = await madeInstance(project.id, 'prod', 'production');
    const newInstance = {
      project: project.id,
      name: 'copy',
      stage: 'development',
      memoryMb: 768,
      adminLogin: 'o@acme.test',
    };
    const quota = {
      limit: 'maxDevelopment',
      usage: 0,
      allowed: 0,
      plan: plan.name,
      says: /allows 0 development instances/,
    };
    expectQuota(await call('POST', `/api/v1/instances/${source}/clone`, { newInstance }), quota);
    const backup = await completedBackup(source);
    expectQuota(await call('POST', `/api/v1/backups/${backup}/restore`, { newInstance }), quota);
  });

  it('refuses a backup schedule that keeps more than the plan allows', async () => {
    const plan = await makePlan({ backupKeepDaily: 7, backupKeepWeekly: 4, backupKeepMonthly: 3 });
    const { project } = await makeCustomer(plan.id);
    const id = await madeInstance(project.id, 'prod', 'production');
    const schedule = (local: Record<string, number>) =>
      call('PUT', `/api/v1/instances/${id}/schedule`, {
        enabled: true,
        spec: { kind: 'daily', time: '02:00', timeZone: 'UTC' },
        retention: { local },
      });
    expectQuota(await schedule({ daily: 14, weekly: 4, monthly: 3 }), {
      limit: 'backupKeepDaily',
      usage: 14,
      allowed: 7,
      plan: plan.name,
      says: /keeps at most 7 daily backups; the schedule asks for 14/,
    });
    expectQuota(await schedule({ daily: 7, weekly: 5, monthly: 3 }), {
      limit: 'backupKeepWeekly',
      usage: 5,
      allowed: 4,
      plan: plan.name,
      says: /4 weekly backups/,
    });
    expectQuota(await schedule({ daily: 7, weekly: 4, monthly: 12 }), {
      limit: 'backupKeepMonthly',
      usage: 12,
      allowed: 3,
      plan: plan.name,
      says: /3 monthly backups/,
    });
    const fits = await schedule({ daily: 7, weekly: 4, monthly: 3 });
    expect(fits.statusCode, fits.body).toBe(200);
  });

  it('gives the last slot to exactly one of two parallel creates', async () => {
    const plan = await makePlan({ maxDevelopment: 1 });
    const { project } = await makeCustomer(plan.id);
    const answers = await Promise.all([
      createInstance(project.id, 'one', 'development'),
      createInstance(project.id, 'two', 'development'),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, 409]);
    const count = await t.db
      .selectFrom('instances')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('project_id', '=', project.id)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  it('asks the gate for domains, offsite copies and imports (the same answer, before an upload)', async () => {
    const plan = await makePlan({ maxCustomDomains: 1, offsiteMb: 0 });
    const { organization, project } = await makeCustomer(plan.id);
    const id = await madeInstance(project.id, 'prod', 'production');
    const gate = t.services.quotas;
    await t.db.transaction().execute((trx) => gate.require(trx, organization.id, { kind: 'domain' }));
    await t.db
      .insertInto('domains')
      .values({
        organization_id: organization.id,
        instance_id: id,
        hostname: 'erp.example.com',
        method: 'cname',
        token: 'x',
      })
      .execute();
    await expect(
      t.db.transaction().execute((trx) => gate.require(trx, organization.id, { kind: 'domain' })),
    ).rejects.toMatchObject({
      code: 'MARINA_E_QUOTA_EXCEEDED',
      details: { limit: 'maxCustomDomains', usage: 1, allowed: 1, plan: plan.name },
    });
    await expect(gate.preview(t.db, organization.id, { kind: 'offsite', bytes: 1 })).rejects.toMatchObject({
      code: 'MARINA_E_QUOTA_EXCEEDED',
      details: { limit: 'offsiteMb', allowed: 0 },
    });
  });
});

describe('PATCH /instances/:id/size', () => {
  it('refuses sizes over the plan, and growing while storage is full; shrinking goes on', async () => {
    const plan = await makePlan({ maxCpus: 2, storageMb: 100 });
    const { organization, project } = await makeCustomer(plan.id);
    const id = await madeInstance(project.id, 'dev', 'development', { cpus: 1, memoryMb: 1024 });
    const resize = (cpus: number, memoryMb: number) =>
      call('PATCH', `/api/v1/instances/${id}/size`, { cpus, memoryMb });
    expectQuota(await resize(4, 1024), {
      limit: 'maxCpus',
      usage: 4,
      allowed: 2,
      plan: plan.name,
      says: /allows 2 CPUs per instance; this asks for 4/,
    });
    await measured(id, organization.id, 100 * MB);
    expectQuota(await resize(2, 1024), {
      limit: 'storageMb',
      usage: 100,
      allowed: 100,
      plan: plan.name,
      says: /allows 100 MB of storage/,
    });
    const row = await t.services.instances.row(id);
    expect({ cpus: Number(row.cpus), memoryMb: row.memory_mb }).toEqual({ cpus: 1, memoryMb: 1024 });
    const shrink = await resize(1, 768);
    expect(shrink.statusCode, shrink.body).toBe(202);
  });

  it('makes the container again with the new limits, audited', async () => {
    const { project } = await makeCustomer();
    const id = await madeInstance(project.id, 'dev', 'development', { cpus: 1, memoryMb: 1024 });
    const answer = await call('PATCH', `/api/v1/instances/${id}/size`, { cpus: 2, memoryMb: 2048 });
    expect(answer.statusCode, answer.body).toBe(202);
    const jobId = answer.json<{ job: { id: string } }>().job.id;
    let status = 'queued';
    for (let i = 0; i < 200 && ['queued', 'running'].includes(status); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await t.db.selectFrom('operations').select('status').where('id', '=', jobId).executeTakeFirstOrThrow())
        .status;
    }
    expect(status).toBe('succeeded');
    const row = await t.services.instances.row(id);
    const container = await memory.describe(row.container_name);
    expect(container).toMatchObject({ memoryBytes: 2048 * 1024 * 1024, nanoCpus: 2e9 });
    const audit = await t.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'instance.resize')
      .where('target_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ from: { cpus: 1, memoryMb: 1024 }, to: { cpus: 2, memoryMb: 2048 } });
  });
});

/** A finished backup record of an instance, as a backup job leaves it. */
async function completedBackup(instanceId: string) {
  const instance = await t.services.instances.row(instanceId);
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
      status: 'completed',
      file_name: `${instance.id}/backup.zip`,
      sha256: 'ab'.repeat(32),
      size_bytes: 1024,
      created_by: 'admin@example.com',
      completed_at: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
} from '../../../test/helpers/app.js';
import { MemoryRuntime } from '../../runtime/memory.js';
import { plansWorld } from './plans-test-support.js';

/**
 * An organization's usage, its suspension as the quotas see it, its plan change and the storage
 * warnings, on the real database (the in-memory runtime stands in for Docker).
 */
const IMAGE = 'marina-test/odoo-standin';
const memory = new MemoryRuntime({ images: [IMAGE] });
let t: TestApp;
let admin: Browser;
const world = plansWorld(
  () => t,
  () => admin,
);
const { call, makePlan, makeCustomer, createInstance, madeInstance, measured, MB } = world;

beforeAll(async () => {
  t = await createTestApp(
    {
      MARINA_NAMESPACE: 'mtmemsubs',
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

interface Usage {
  plan: { name: string } | null;
  limits: Record<string, number | null> | null;
  usage: Record<string, number>;
  can: Record<
    'createProduction' | 'createStaging' | 'createDevelopment' | 'start',
    { ok: boolean; reason: string | null }
  >;
}

describe('GET /organizations/:id/usage', () => {
  it('shows members the plan, the usage and what is refused with the reason; outsiders get 404', async () => {
    const plan = await makePlan({ maxProduction: 1, storageMb: 1000 }, { stagingAllowed: false });
    const { organization, project } = await makeCustomer(plan.id);
    const prod = await madeInstance(project.id, 'prod', 'production');
    await measured(prod, organization.id, 500 * MB);
    const viewer = await memberBrowser(t, admin, organization.slug, `viewer@${organization.slug}.test`, 'member');
    const answer = await as(t, viewer)('GET', `/api/v1/organizations/${organization.id}/usage`);
    expect(answer.statusCode, answer.body).toBe(200);
    const usage = answer.json<Usage>();
    expect(usage.plan?.name).toBe(plan.name);
    expect(usage.limits).toMatchObject({ maxProduction: 1, storageMb: 1000 });
    expect(usage.usage).toMatchObject({ production: 1, staging: 0, development: 0, storageBytes: 500 * MB });
    expect(usage.can.createProduction).toEqual({
      ok: false,
      reason: `Plan ${plan.name} allows 1 production instance; you have 1.`,
    });
    expect(usage.can.createStaging.ok).toBe(false);
    expect(usage.can.createStaging.reason).toContain('does not include staging');
    expect(usage.can.createDevelopment).toEqual({ ok: true, reason: null });

    const other = await makeCustomer();
    const outsider = await memberBrowser(
      t,
      admin,
      other.organization.slug,
      `o@${other.organization.slug}.test`,
      'owner',
    );
    expect((await as(t, outsider)('GET', `/api/v1/organizations/${organization.id}/usage`)).statusCode).toBe(404);
    // Without a subscription: no plan, everything allowed.
    const free = await as(t, outsider)('GET', `/api/v1/organizations/${other.organization.id}/usage`);
    expect(free.json<Usage>()).toMatchObject({ plan: null, limits: null, can: { createProduction: { ok: true } } });
  });
});

describe('suspension', () => {
  it('refuses creating and starting in a suspended organization, and lets it stop', async () => {
    const plan = await makePlan({});
    const { organization, project } = await makeCustomer(plan.id);
    const id = await madeInstance(project.id, 'prod', 'production');
    const since = new Date('2026-01-02T03:04:05Z');
    await t.db
      .updateTable('subscriptions')
      .set({ status: 'suspended', suspended_kind: 'trial_ended', suspended_at: since })
      .where('organization_id', '=', organization.id)
      .execute();
    for (const refused of [
      await createInstance(project.id, 'dev', 'development'),
      await call('POST', `/api/v1/instances/${id}/start`, {}),
      await call('POST', `/api/v1/instances/${id}/restart`, {}),
    ]) {
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json<{ error: { code: string; details: unknown } }>().error).toMatchObject({
        code: 'MARINA_E_ORGANIZATION_SUSPENDED',
        details: { kind: 'trial_ended', since: since.toISOString() },
      });
    }
    const usage = (await call('GET', `/api/v1/organizations/${organization.id}/usage`)).json<Usage>();
    expect(usage.can.start.ok).toBe(false);
    await t.db.updateTable('instances').set({ status: 'running' }).where('id', '=', id).execute();
    const stop = await call('POST', `/api/v1/instances/${id}/stop`, { confirm: 'prod' });
    expect(stop.statusCode, stop.body).toBe(202);
  });
});

describe('POST /organizations/:id/subscription/plan', () => {
  it('refuses a plan the organization does not fit, listing every problem, then moves once it fits', async () => {
    const big = await makePlan({});
    const small = await makePlan({ maxDevelopment: 1, maxCpus: 1, storageMb: 100 }, { stagingAllowed: false });
    const { organization, project } = await makeCustomer(big.id);
    const a = await madeInstance(project.id, 'a', 'development', { cpus: 2 });
    await madeInstance(project.id, 'b', 'development');
    await madeInstance(project.id, 'st', 'staging');
    await measured(a, organization.id, 150 * MB);
    const refused = await call('POST', `/api/v1/organizations/${organization.id}/subscription/plan`, {
      planId: small.id,
    });
    expect(refused.statusCode, refused.body).toBe(409);
    const error = refused.json<{
      error: { code: string; details: { problems: { limit: string; remove: string }[] } };
    }>().error;
    expect(error.code).toBe('MARINA_E_PLAN_DOES_NOT_FIT');
    expect(error.details.problems.map((p) => [p.limit, p.remove])).toEqual([
      ['stagingAllowed', 'delete 1 staging instance'],
      ['maxDevelopment', 'delete 1 development instance'],
      ['maxCpus', 'resize erp/a to ≤ 1 CPU'],
      ['storageMb', 'free 50 MB'],
    ]);
    const subscription = await t.services.subscriptions.get(organization.id);
    expect(subscription?.plan_id).toBe(big.id);

    const fits = await makePlan({ maxDevelopment: 5, maxStaging: 1 });
    const moved = await call('POST', `/api/v1/organizations/${organization.id}/subscription/plan`, { planId: fits.id });
    expect(moved.statusCode, moved.body).toBe(200);
    expect((await t.services.subscriptions.get(organization.id))?.plan_id).toBe(fits.id);
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('organization_id', '=', organization.id)
      .where('action', '=', 'subscription.change_plan')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]?.details).toMatchObject({ from: big.slug, to: fits.slug });
  });

  it('lets an owner move between public plans during a trial only', async () => {
    const trial = await makePlan({}, { public: true, trialDays: 14 });
    const other = await makePlan({}, { public: true, trialDays: 14 });
    const hidden = await makePlan({}, { public: false });
    const { organization } = await makeCustomer(trial.id, true);
    const owner = await memberBrowser(t, admin, organization.slug, `owner@${organization.slug}.test`, 'owner');
    const change = (planId: string) =>
      as(t, owner)('POST', `/api/v1/organizations/${organization.id}/subscription/plan`, { planId });
    expect((await change(hidden.id)).statusCode).toBe(403);
    expect((await change(other.id)).statusCode).toBe(200);
    const mails = await t.db
      .selectFrom('mail_outbox')
      .select(['to', 'vars'])
      .where('organization_id', '=', organization.id)
      .where('key', '=', 'plan_changed')
      .execute();
    expect(mails).toEqual([
      {
        to: `owner@${organization.slug}.test`,
        vars: expect.objectContaining({ old_plan: trial.name, new_plan: other.name }),
      },
    ]);
    await t.db
      .updateTable('subscriptions')
      .set({ status: 'active' })
      .where('organization_id', '=', organization.id)
      .execute();
    expect((await change(trial.id)).statusCode).toBe(403);
  });
});

describe('storage warnings', () => {
  it('mails the owners once at 80 % and once at 100 %, again only after falling below 75 %', async () => {
    const plan = await makePlan({ storageMb: 100 });
    const { organization, project } = await makeCustomer(plan.id);
    await memberBrowser(t, admin, organization.slug, `owner@${organization.slug}.test`, 'owner');
    const id = await madeInstance(project.id, 'prod', 'production');
    const warnings = async () =>
      (
        await t.db
          .selectFrom('mail_outbox')
          .select('vars')
          .where('organization_id', '=', organization.id)
          .where('key', '=', 'quota_warning')
          .orderBy('created_at')
          .orderBy('id')
          .execute()
      ).map((m) => (m.vars as { percent: number }).percent);
    const at = async (mb: number) => {
      await measured(id, organization.id, mb * MB);
      await t.services.usage.checkStorage(organization.id);
    };
    await at(79);
    expect(await warnings()).toEqual([]);
    await at(85);
    await at(90);
    expect(await warnings()).toEqual([80]);
    await at(100);
    await at(120);
    expect(await warnings()).toEqual([80, 100]);
    await at(77);
    await at(85);
    expect(await warnings()).toEqual([80, 100]);
    await at(70);
    await at(85);
    expect(await warnings()).toEqual([80, 100, 80]);
  });
});

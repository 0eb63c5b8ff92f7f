import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { DAY_MS } from '../src/modules/lifecycle/machine.js';
import type { Subscription } from '../src/modules/lifecycle/service.js';
import { MemoryRuntime } from '../src/runtime/memory.js';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
  withToken,
} from './helpers/app.js';
import { makeProject, requestInstance } from './helpers/factories.js';

// The platform admin's subscription actions and the operator's overview, on a real PostgreSQL and
// the real outbox (its rows: no SMTP here). No instance is needed: test/lifecycle.test.ts runs them.
let t: TestApp;
let admin: Browser;
const IMAGE = 'marina-test/odoo-standin';

beforeEach(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
});

afterEach(async () => {
  await t.close();
});

async function organization(slug: string, name: string): Promise<string> {
  const made = await as(t, admin)('POST', '/api/v1/organizations', { slug, name });
  expect(made.statusCode, made.body).toBe(201);
  return made.json<{ organization: { id: string } }>().organization.id;
}

async function plan(slug: string, prices: { currency: string; period: 'month' | 'year'; amount: number }[] = []) {
  const row = await t.db
    .insertInto('plans')
    .values({ slug, name: slug[0]?.toUpperCase() + slug.slice(1), trial_days: 14, storage_mb: 1024 })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const p of prices)
    await t.db
      .insertInto('plan_prices')
      .values({ plan_id: row.id, currency: p.currency, period: p.period, amount_minor: p.amount })
      .execute();
  return row.id;
}

/**
 * A paid organization with one instance: a Marina whose runtime is the in-memory stand-in (an
 * instance row needs the create to pass), job workers running.
 */
async function paidWithInstance(namespace: string) {
  await t.close();
  t = await createTestApp(
    {
      MARINA_ODOO_DATABASE_URL: inject('postgresAdminUrl'),
      MARINA_ODOO_17_IMAGE: IMAGE,
      MARINA_NAMESPACE: `${namespace}${process.pid}`,
      MARINA_INSTANCE_BIND: '127.0.0.1',
      MARINA_LIFECYCLE_INTERVAL_S: '3600',
    },
    { runtime: () => new MemoryRuntime({ images: [IMAGE] }) },
  );
  await t.services.startBackground();
  admin = await adminBrowser(t);
  const orgId = await organization('acme', 'ACME');
  const planId = await plan('starter');
  const call = as(t, admin);
  await call('POST', `/api/v1/organizations/${orgId}/subscription`, { planId, trial: false });
  const project = await makeProject(call, { organization: 'acme' });
  const made = await requestInstance(call, { project: project.id });
  return { orgId, call, made };
}

const outbox = (orgId: string) =>
  t.db
    .selectFrom('mail_outbox')
    .select(['key', 'to', 'vars'])
    .where('organization_id', '=', orgId)
    .orderBy('created_at')
    .execute();

describe('subscription actions (platform admins)', () => {
  it('suspends and resumes, mails the owners without the reason, audits both, and refuses everyone else', async () => {
    const orgId = await organization('acme', 'ACME');
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const planId = await plan('starter');
    const call = as(t, admin);
    expect(
      (await call('POST', `/api/v1/organizations/${orgId}/subscription`, { planId, trial: false })).statusCode,
    ).toBe(201);

    // An owner cannot, with a session or an organization token.
    const byOwner = await as(t, owner)('POST', `/api/v1/organizations/${orgId}/subscription/suspend`, { reason: 'x' });
    expect(byOwner.statusCode).toBe(403);
    const token = await as(t, owner)('POST', '/api/v1/tokens', { name: 'acme ci', organizationId: orgId });
    expect(token.statusCode, token.body).toBe(201);
    const scoped = await withToken(t, token.json().secret)(
      'POST',
      `/api/v1/organizations/${orgId}/subscription/suspend`,
      {
        reason: 'x',
      },
    );
    expect(scoped.json().error.code).toBe('MARINA_E_TOKEN_SCOPE');
    expect((await as(t, owner)('GET', '/api/v1/admin/customers')).statusCode).toBe(403);

    const suspended = await call('POST', `/api/v1/organizations/${orgId}/subscription/suspend`, { reason: 'fraud' });
    expect(suspended.statusCode, suspended.body).toBe(200);
    expect(suspended.json().subscription).toMatchObject({
      status: 'suspended',
      suspendedKind: 'admin',
      suspendedReason: 'fraud',
    });
    const graceEnds = new Date(suspended.json().subscription.graceEndsAt).getTime();
    expect(graceEnds - t.clock.now().getTime()).toBe(30 * DAY_MS);
    // Twice is refused, not done twice.
    expect(
      (await call('POST', `/api/v1/organizations/${orgId}/subscription/suspend`, { reason: 'again' })).statusCode,
    ).toBe(409);

    const resumed = await call('POST', `/api/v1/organizations/${orgId}/subscription/resume`, {});
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(resumed.json().subscription).toMatchObject({ status: 'active', suspendedAt: null, suspendedReason: null });
    expect((await call('POST', `/api/v1/organizations/${orgId}/subscription/resume`, {})).statusCode).toBe(409);

    const mails = await outbox(orgId);
    expect(mails.map((m) => [m.key, m.to])).toEqual([
      ['suspended', 'owner@acme.test'],
      ['resumed', 'owner@acme.test'],
    ]);
    expect(JSON.stringify(mails)).not.toContain('fraud');
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'actor_label'])
      .where('category', '=', 'subscription')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['subscription.create', 'subscription.suspend', 'subscription.resume']);
  });

  it('converts a trial at once, extends a trial from its end, and refuses what the machine does not allow', async () => {
    const orgId = await organization('acme', 'ACME');
    const planId = await plan('starter');
    const call = as(t, admin);
    const given = await call('POST', `/api/v1/organizations/${orgId}/subscription`, { planId, trial: true });
    const end = new Date(given.json().subscription.trialEndsAt).getTime();
    const extended = await call('POST', `/api/v1/organizations/${orgId}/subscription/extend-trial`, { days: 5 });
    expect(new Date(extended.json().subscription.trialEndsAt).getTime()).toBe(end + 5 * DAY_MS);
    expect((await call('POST', `/api/v1/organizations/${orgId}/subscription/resume`, {})).statusCode).toBe(409);
    const converted = await call('POST', `/api/v1/organizations/${orgId}/subscription/convert`, {});
    expect(converted.json().subscription).toMatchObject({ status: 'active', trialEndsAt: t.clock.now().toISOString() });
    expect((await call('POST', `/api/v1/organizations/${orgId}/subscription/convert`, {})).statusCode).toBe(409);
    expect(
      (await call('POST', `/api/v1/organizations/${orgId}/subscription/extend-trial`, { days: 5 })).statusCode,
    ).toBe(409);
    // No reminder for a converted trial, however late the clock.
    t.clock.set(new Date(end + 40 * DAY_MS));
    await t.services.lifecycleTicker.tick();
    expect((await outbox(orgId)).map((m) => m.key)).toEqual([]);
  });
});

describe('the grace end against a resume', () => {
  it('refuses to resume once deleting the instances has begun', async () => {
    const orgId = await organization('acme', 'ACME');
    const planId = await plan('starter');
    const call = as(t, admin);
    await call('POST', `/api/v1/organizations/${orgId}/subscription`, { planId, trial: false });
    await call('POST', `/api/v1/organizations/${orgId}/subscription/suspend`, { reason: 'unpaid' });
    // What the grace end's first tick marks before it deletes anything (test/lifecycle.test.ts runs it).
    await t.db
      .updateTable('subscriptions')
      .set({ deletion_started_at: t.clock.now() })
      .where('organization_id', '=', orgId)
      .execute();
    const refused = await call('POST', `/api/v1/organizations/${orgId}/subscription/resume`, {});
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'MARINA_E_CONFLICT',
      message: expect.stringContaining('deleting its instances has begun'),
    });
    const sub = await t.db.selectFrom('subscriptions').selectAll().where('organization_id', '=', orgId).execute();
    expect(sub[0]).toMatchObject({ status: 'suspended', suspended_kind: 'admin' });
    expect(sub[0]?.deletion_started_at).not.toBeNull();
    expect((await outbox(orgId)).map((m) => m.key)).not.toContain('resumed');
  });

  it('claims no instance for a grace end whose tick read the suspension before a resume', async () => {
    const { orgId, call, made } = await paidWithInstance('mtlcadmin');
    const { instance, job } = made;
    // The stand-in runs no Odoo: provisioning fails, leaving an instance no job holds.
    await vi.waitFor(
      async () => {
        const op = await t.db.selectFrom('operations').select('status').where('id', '=', job.id).executeTakeFirst();
        expect(['queued', 'running']).not.toContain(op?.status);
        expect((await t.services.instances.row(instance.id)).status).toBe('failed');
      },
      { timeout: 30_000, interval: 100 },
    );
    const before = await t.services.instances.row(instance.id);

    await call('POST', `/api/v1/organizations/${orgId}/subscription/suspend`, { reason: 'unpaid' });
    // A tick reads the suspension; the resume commits before that tick reaches the instance.
    const read = (await t.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', orgId)
      .executeTakeFirstOrThrow()) as Subscription;
    const resumed = await call('POST', `/api/v1/organizations/${orgId}/subscription/resume`, {});
    expect(resumed.statusCode, resumed.body).toBe(200);
    t.clock.set(new Date((read.grace_ends_at as Date).getTime() + 60_000));
    // The tick goes on with what it read (its grace-end step, as `tick()` calls it for that row).
    const ticker = t.services.lifecycleTicker as unknown as {
      graceEnd(sub: Subscription, now: Date): Promise<string>;
    };
    await ticker.graceEnd(read, t.clock.now());

    const after = await t.services.instances.row(instance.id);
    expect(after.status).toBe(before.status);
    const deletes = await t.db
      .selectFrom('operations')
      .select('id')
      .where('target_id', '=', instance.id)
      .where('kind', '=', 'instance.delete')
      .execute();
    expect(deletes).toEqual([]);
    const sub = await t.db.selectFrom('subscriptions').selectAll().where('organization_id', '=', orgId).execute();
    // No mark left behind either: a later suspension could still be resumed.
    expect(sub[0]).toMatchObject({ status: 'active', deletion_started_at: null });
  });
  it('starts at the next tick what a resume could not start while a job held it, and nothing a person stopped', async () => {
    const { orgId, call, made } = await paidWithInstance('mtlcresume');
    await vi.waitFor(
      async () => {
        const op = await t.db
          .selectFrom('operations')
          .select('status')
          .where('id', '=', made.job.id)
          .executeTakeFirst();
        expect(['queued', 'running']).not.toContain(op?.status);
      },
      { timeout: 30_000, interval: 100 },
    );
    // The records below are the truth here: Docker-like events of the stand-in runtime, late on a
    // busy machine, must not rewrite the status the test sets (the tick starts only a stopped one).
    await t.services.status.stop();
    // The instance as a start or stop by someone leaves it (the stand-in runtime runs no Odoo).
    // Marina stamps operations with its clock (the test's, standing still): these are stamped with it
    // too, a second apart, and what Marina queues next comes a second later.
    const second = () => t.clock.set(new Date(t.clock.now().getTime() + 1000));
    const last = async (kind: 'instance.start' | 'instance.stop', actor: string) => {
      second();
      const status = kind === 'instance.stop' ? 'stopped' : 'running';
      await t.db.updateTable('instances').set({ status }).where('id', '=', made.instance.id).execute();
      await t.db
        .insertInto('operations')
        .values({
          kind,
          organization_id: orgId,
          host_id: null,
          target_type: 'instance',
          target_id: made.instance.id,
          target_label: made.instance.name,
          status: 'succeeded',
          steps: '[]',
          input: '{}',
          result: null,
          error: null,
          actor_id: null,
          actor_label: actor,
          created_at: t.clock.now(),
        })
        .execute();
      second();
    };
    const lifecycleStarts = () =>
      t.db
        .selectFrom('operations')
        .select('id')
        .where('target_id', '=', made.instance.id)
        .where('kind', '=', 'instance.start')
        .where('actor_label', '=', 'lifecycle')
        .execute();
    const tick = async () => (await t.services.lifecycleTicker.tick()).started;

    // Whatever provisioning came to (health may find another test's server on the port): not running
    // when suspended, so that the resume has nothing of its own to start.
    await t.db.updateTable('instances').set({ status: 'stopped' }).where('id', '=', made.instance.id).execute();
    // Stopped by the suspension: nothing starts while it lasts.
    await call('POST', `/api/v1/organizations/${orgId}/subscription/suspend`, { reason: 'unpaid' });
    await last('instance.stop', 'lifecycle');
    expect(await tick()).toEqual([]);
    // Resumed while a job held the instance (so the resume's own start did not happen).
    expect((await call('POST', `/api/v1/organizations/${orgId}/subscription/resume`, {})).statusCode).toBe(200);
    expect(await lifecycleStarts()).toEqual([]);
    // Started and stopped by a person since: theirs to run, not the lifecycle's.
    await last('instance.start', 'owner@acme.test');
    await last('instance.stop', 'owner@acme.test');
    expect(await tick()).toEqual([]);
    // Last stopped by the lifecycle in an organization no longer suspended: the tick starts it, once.
    await last('instance.stop', 'lifecycle');
    const started = await tick();
    expect(started).toHaveLength(1);
    expect((await lifecycleStarts()).map((op) => op.id)).toEqual(started);
    expect(await tick()).toEqual([]);
    expect(await lifecycleStarts()).toHaveLength(1);
  });
});

describe('the operator overview', () => {
  it('lists every organization with its plan and price, filters, sorts, pages, and totals MRR per currency', async () => {
    const monthly = await plan('business', [
      { currency: 'EUR', period: 'month', amount: 4900 },
      { currency: 'EUR', period: 'year', amount: 49000 },
    ]);
    const yearly = await plan('annual', [{ currency: 'USD', period: 'year', amount: 12_001 }]);
    const ids = {
      alpha: await organization('alpha', 'Alpha'),
      beta: await organization('beta', 'Beta'),
      gamma: await organization('gamma', 'Gamma'),
      delta: await organization('delta', 'Delta Trial'),
    };
    const call = as(t, admin);
    await call('POST', `/api/v1/organizations/${ids.alpha}/subscription`, { planId: monthly, trial: false });
    await call('POST', `/api/v1/organizations/${ids.beta}/subscription`, { planId: yearly, trial: false });
    await call('POST', `/api/v1/organizations/${ids.delta}/subscription`, { planId: monthly, trial: true });
    await t.db.updateTable('subscriptions').set({ period: 'year' }).where('organization_id', '=', ids.beta).execute();

    const all = await call('GET', '/api/v1/admin/customers?sort=name');
    expect(all.statusCode, all.body).toBe(200);
    const body = all.json();
    const slugs = body.rows.map((r: { organization: { slug: string } }) => r.organization.slug);
    expect(slugs).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    const alpha = body.rows[0];
    expect(alpha).toMatchObject({
      plan: { name: 'Business' },
      status: 'active',
      monthlyPriceMinor: 4900,
      currency: 'EUR',
      instances: 0,
      storageBytes: 0,
      storageLimitBytes: 1024 * 1024 * 1024,
    });
    expect(body.rows[1]).toMatchObject({ monthlyPriceMinor: 1000, currency: 'USD' });
    expect(body.rows[3]).toMatchObject({ plan: null, status: null });
    // MRR: active subscriptions only (the trial is not revenue); a yearly price /12, rounded down.
    expect(body.totals).toMatchObject({
      organizations: 4,
      byStatus: { active: 2, trialing: 1, none: 1 },
      mrrMinor: { EUR: 4900, USD: 1000 },
    });

    const trials = (await call('GET', '/api/v1/admin/customers?status=trialing')).json();
    expect(trials.rows.map((r: { organization: { slug: string } }) => r.organization.slug)).toEqual(['delta']);
    expect(trials.totals.organizations).toBe(1);
    const search = (await call('GET', '/api/v1/admin/customers?q=TRIAL')).json();
    expect(search.rows.map((r: { organization: { slug: string } }) => r.organization.slug)).toEqual(['delta']);
    const percent = (await call('GET', '/api/v1/admin/customers?q=%25')).json();
    expect(percent.rows).toEqual([]);

    const pageOne = (await call('GET', '/api/v1/admin/customers?sort=name&dir=desc&limit=3')).json();
    expect(pageOne.rows.map((r: { organization: { slug: string } }) => r.organization.slug)).toEqual([
      'gamma',
      'delta',
      'beta',
    ]);
    const pageTwo = (
      await call('GET', `/api/v1/admin/customers?sort=name&dir=desc&limit=3&cursor=${pageOne.nextCursor}`)
    ).json();
    expect(pageTwo.rows.map((r: { organization: { slug: string } }) => r.organization.slug)).toEqual(['alpha']);
    expect(pageTwo.nextCursor).toBeNull();
    expect((await call('GET', '/api/v1/admin/customers?sort=drop')).statusCode).toBe(400);
  });
});

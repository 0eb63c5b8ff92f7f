import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS } from '../src/modules/lifecycle/machine.js';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
  withToken,
} from './helpers/app.js';

// GET|PUT /api/v1/settings/lifecycle on a real PostgreSQL: who may, what is refused, the audit
// record, and that the lifecycle itself follows the stored values (the grace end of a suspension,
// the expiry of the final backups when the grace ends).
let t: TestApp;
let admin: Browser;

beforeEach(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
});

afterEach(async () => {
  await t.close();
});

async function organizationOnPlan(slug: string): Promise<string> {
  const call = as(t, admin);
  const made = await call('POST', '/api/v1/organizations', { slug, name: slug.toUpperCase() });
  expect(made.statusCode, made.body).toBe(201);
  const orgId = made.json<{ organization: { id: string } }>().organization.id;
  const plan = await t.db
    .insertInto('plans')
    .values({ slug: `${slug}-plan`, name: 'Starter', trial_days: 14 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const given = await call('POST', `/api/v1/organizations/${orgId}/subscription`, { planId: plan.id, trial: false });
  expect(given.statusCode, given.body).toBe(201);
  return orgId;
}

describe('lifecycle settings', () => {
  it('answers the defaults, stores a change with its audit record, and keeps the trial reminders', async () => {
    const call = as(t, admin);
    const first = await call('GET', '/api/v1/settings/lifecycle');
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ lifecycle: { graceDays: 30, finalBackupDays: 90 } });

    // Reminders set by hand in the row survive a change made through the API.
    await t.db
      .insertInto('settings')
      .values({
        key: 'lifecycle',
        value: JSON.stringify({ reminderDays: [5, 2] }),
        updated_by: 'test',
        updated_at: t.clock.now(),
      })
      .execute();
    const put = await call('PUT', '/api/v1/settings/lifecycle', { graceDays: 12, finalBackupDays: 45 });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toEqual({ lifecycle: { graceDays: 12, finalBackupDays: 45 } });
    expect((await call('GET', '/api/v1/settings/lifecycle')).json()).toEqual({
      lifecycle: { graceDays: 12, finalBackupDays: 45 },
    });
    const row = await t.db.selectFrom('settings').selectAll().where('key', '=', 'lifecycle').executeTakeFirstOrThrow();
    expect(row.value).toEqual({ graceDays: 12, finalBackupDays: 45, reminderDays: [5, 2] });
    expect(row.updated_by).toBe('admin@example.com');

    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'target_type', 'target_id', 'details', 'actor_label'])
      .where('target_id', '=', 'lifecycle')
      .execute();
    expect(audit).toEqual([
      {
        action: 'settings.update',
        target_type: 'settings',
        target_id: 'lifecycle',
        actor_label: 'admin@example.com',
        details: { before: { graceDays: 30, finalBackupDays: 90 }, after: { graceDays: 12, finalBackupDays: 45 } },
      },
    ]);
  });

  it('refuses values out of range and unknown fields, and changes nothing then', async () => {
    const call = as(t, admin);
    for (const body of [
      { graceDays: 0, finalBackupDays: 90 },
      { graceDays: 366, finalBackupDays: 90 },
      { graceDays: 1.5, finalBackupDays: 90 },
      { graceDays: 30, finalBackupDays: 0 },
      { graceDays: 30 },
      { graceDays: 30, finalBackupDays: 90, reminderDays: [1] },
    ]) {
      const res = await call('PUT', '/api/v1/settings/lifecycle', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('MARINA_E_VALIDATION');
    }
    expect(await t.db.selectFrom('settings').select('key').where('key', '=', 'lifecycle').execute()).toEqual([]);
  });

  it('is for platform admins only: an organization owner and an organization token are refused', async () => {
    const orgId = await organizationOnPlan('acme');
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    expect((await as(t, owner)('GET', '/api/v1/settings/lifecycle')).statusCode).toBe(403);
    const put = await as(t, owner)('PUT', '/api/v1/settings/lifecycle', { graceDays: 1, finalBackupDays: 1 });
    expect(put.statusCode).toBe(403);
    expect(put.json().error.code).toBe('MARINA_E_FORBIDDEN');

    // A token limited to one organization is refused as such.
    const token = await as(t, owner)('POST', '/api/v1/tokens', { name: 'acme only', organizationId: orgId });
    expect(token.statusCode, token.body).toBe(201);
    const scoped = withToken(t, token.json().secret);
    expect((await scoped('GET', '/api/v1/settings/lifecycle')).json().error.code).toBe('MARINA_E_TOKEN_SCOPE');
    const scopedPut = await scoped('PUT', '/api/v1/settings/lifecycle', { graceDays: 1, finalBackupDays: 1 });
    expect(scopedPut.json().error.code).toBe('MARINA_E_TOKEN_SCOPE');
    expect(await t.db.selectFrom('settings').select('key').where('key', '=', 'lifecycle').execute()).toEqual([]);
  });

  it('a suspension gets the stored grace period, and its end keeps the final backups the stored days', async () => {
    const orgId = await organizationOnPlan('acme');
    const call = as(t, admin);
    expect((await call('PUT', '/api/v1/settings/lifecycle', { graceDays: 3, finalBackupDays: 7 })).statusCode).toBe(
      200,
    );

    const suspended = await call('POST', `/api/v1/organizations/${orgId}/subscription/suspend`, { reason: 'test' });
    expect(suspended.statusCode, suspended.body).toBe(200);
    const suspendedAt = t.clock.now().getTime();
    expect(new Date(suspended.json().subscription.graceEndsAt).getTime()).toBe(suspendedAt + 3 * DAY_MS);

    // The grace ends: with no instance left to delete, the subscription is cancelled at once and
    // its final backups (none here) are given the stored lifetime.
    t.clock.set(new Date(suspendedAt + 3 * DAY_MS + 60_000));
    await t.services.lifecycleTicker.tick();
    const cancelled = await t.db
      .selectFrom('subscription_events')
      .select(['details', 'at'])
      .where('organization_id', '=', orgId)
      .where('to_status', '=', 'cancelled')
      .executeTakeFirstOrThrow();
    expect(new Date(String(cancelled.details.expiresAt)).getTime()).toBe(cancelled.at.getTime() + 7 * DAY_MS);
  });
});

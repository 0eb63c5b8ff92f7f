import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from './helpers/app.js';
import { makeOrganizationWithAdmin } from './helpers/factories.js';
import { insertInstanceRows } from './helpers/metrics-world.js';

/**
 * The uptime interval per plan (issue #15): a plan may check its production instances less often
 * than MARINA_UPTIME_INTERVAL_S; the platform's rounds go on for the others. Instances here have no
 * container, so each check fails fast ("no address") and is recorded all the same.
 */
let t: TestApp;
let platform: Browser;

beforeAll(async () => {
  t = await createTestApp({ MARINA_UPTIME_INTERVAL_S: '30' });
  platform = await adminBrowser(t);
});

afterAll(async () => {
  await t?.close();
});

const checksOf = async (instanceId: string) =>
  (await t.db.selectFrom('uptime_checks').select('at').where('instance_id', '=', instanceId).execute()).length;

describe('uptime interval per plan', () => {
  it('checks a plan’s instances at its interval and the others every round; refuses an interval out of bounds', async () => {
    const call = as(t, platform);
    for (const bad of [5, 4000, 12.5]) {
      const refused = await call('POST', '/api/v1/plans', {
        slug: `bad-${bad}`.replace('.', '-'),
        name: 'Bad',
        uptimeIntervalSeconds: bad,
      });
      expect(refused.statusCode, refused.body).toBe(400);
    }
    const made = await call('POST', '/api/v1/plans', { slug: 'slow', name: 'Slow', uptimeIntervalSeconds: 120 });
    expect(made.statusCode, made.body).toBe(201);
    const plan = made.json<{ plan: { id: string; uptimeIntervalSeconds: number | null } }>().plan;
    expect(plan.uptimeIntervalSeconds).toBe(120);
    const slowOrg = await makeOrganizationWithAdmin(t, platform, { slug: 'slow', email: 'o@slow.test', role: 'owner' });
    await t.db
      .transaction()
      .execute((trx) => t.services.subscriptions.start(trx, slowOrg.organization.id, plan.id, { trial: false }));
    const plainOrg = await makeOrganizationWithAdmin(t, platform, {
      slug: 'plain',
      email: 'o@plain.test',
      role: 'owner',
    });
    const slow = (await insertInstanceRows(t.db, slowOrg.organization.id, ['main'])).instances[0]?.id ?? '';
    const plain = (await insertInstanceRows(t.db, plainOrg.organization.id, ['main'])).instances[0]?.id ?? '';

    for (let round = 0; round < 8; round += 1) {
      await t.services.uptimeChecker.runOnce();
      t.clock.advanceMinutes(0.5);
    }
    // Four minutes of 30-second rounds: every round for the platform's, every fourth for the plan's.
    expect(await checksOf(plain)).toBe(8);
    expect(await checksOf(slow)).toBe(2);

    const back = await call('PATCH', `/api/v1/plans/${plan.id}`, { uptimeIntervalSeconds: null });
    expect(back.statusCode, back.body).toBe(200);
    for (let round = 0; round < 2; round += 1) {
      await t.services.uptimeChecker.runOnce();
      t.clock.advanceMinutes(0.5);
    }
    expect(await checksOf(slow)).toBe(4);
  });
});

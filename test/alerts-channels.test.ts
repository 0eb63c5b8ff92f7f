import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UptimeStore } from '../src/modules/uptime/store.js';
import { adminBrowser, as, type Browser, createTestApp, memberBrowser, type TestApp } from './helpers/app.js';
import { makeOrganizationWithAdmin } from './helpers/factories.js';
import { insertInstanceRows } from './helpers/metrics-world.js';

// Alert channels (validation, sealing, permissions) and the incident store against a real PostgreSQL.
let t: TestApp;
let platform: Browser;
let owner: Browser;
let viewer: Browser;
let stranger: Browser;
let orgId = '';

beforeAll(async () => {
  t = await createTestApp();
  platform = await adminBrowser(t);
  const acme = await makeOrganizationWithAdmin(t, platform, { slug: 'acme', email: 'owner@acme.test', role: 'owner' });
  owner = acme.admin;
  orgId = acme.organization.id;
  viewer = await memberBrowser(t, owner, 'acme', 'viewer@acme.test', 'viewer');
  stranger = (await makeOrganizationWithAdmin(t, platform, { slug: 'other', email: 'admin@other.test' })).admin;
});

afterAll(async () => {
  await t?.close();
});

const channels = (who: Browser) => as(t, who);
const count = async () =>
  Number(
    (
      await t.db
        .selectFrom('alert_channels')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('alert channels', () => {
  it('refuses private addresses, plain http and malformed URLs, storing nothing', async () => {
    const url = `/api/v1/organizations/${orgId}/alert-channels`;
    const cases: [unknown, string][] = [
      [{ kind: 'webhook', target: 'https://10.1.2.3/hook' }, 'MARINA_E_OUTBOUND_REFUSED'],
      [{ kind: 'slack', target: 'https://127.0.0.1:9/hook' }, 'MARINA_E_OUTBOUND_REFUSED'],
      [{ kind: 'discord', target: 'https://[::1]/hook' }, 'MARINA_E_OUTBOUND_REFUSED'],
      [{ kind: 'webhook', target: 'http://hooks.example.com/x' }, 'MARINA_E_VALIDATION'],
      [{ kind: 'teams', target: 'not a url' }, 'MARINA_E_VALIDATION'],
      [{ kind: 'webhook', target: 'https://user:pw@hooks.example.com/x' }, 'MARINA_E_VALIDATION'],
      [{ kind: 'email', target: 'not-an-address' }, 'MARINA_E_VALIDATION'],
      [{ kind: 'sms', target: '+15550100' }, 'MARINA_E_VALIDATION'],
    ];
    for (const [body, code] of cases) {
      const answer = await channels(owner)('POST', url, body);
      expect(answer.statusCode, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(answer.json<{ error: { code: string } }>().error.code, JSON.stringify(body)).toBe(code);
    }
    expect(await count()).toBe(0);
  });

  it('seals the generic webhook secret, answers it once and never shows the URL past its origin', async () => {
    // 127.0.0.0/8 allowed the way a platform admin allows an internal range (as the OIDC tests do).
    const allowed = await as(t, platform)('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
    expect(allowed.statusCode, allowed.body).toBe(200);
    const made = await channels(owner)('POST', `/api/v1/organizations/${orgId}/alert-channels`, {
      kind: 'webhook',
      name: 'ops',
      target: 'https://127.0.0.1:9/hooks/secret-path',
    });
    expect(made.statusCode, made.body).toBe(201);
    const { channel, secret } = made.json<{ channel: { id: string; target: string }; secret: string }>();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(channel.target).toBe('https://127.0.0.1:9/…');
    const row = await t.db
      .selectFrom('alert_channels')
      .selectAll()
      .where('id', '=', channel.id)
      .executeTakeFirstOrThrow();
    expect(row.secret).not.toContain(secret);
    const listed = await channels(owner)('GET', `/api/v1/organizations/${orgId}/alert-channels`);
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toContain('secret-path');
    const removed = await channels(owner)('DELETE', `/api/v1/organizations/${orgId}/alert-channels/${channel.id}`);
    expect(removed.statusCode).toBe(200);
    await as(t, platform)('PUT', '/api/v1/settings/outbound', { allowedRanges: [] });
  });

  it('is managed by owners and admins only: a viewer is refused, another organization gets 404', async () => {
    const url = `/api/v1/organizations/${orgId}/alert-channels`;
    const body = { kind: 'email', target: 'ops@acme.test' };
    expect((await channels(viewer)('GET', url)).statusCode).toBe(403);
    expect((await channels(viewer)('POST', url, body)).statusCode).toBe(403);
    expect(
      (await channels(viewer)('PUT', `/api/v1/organizations/${orgId}/alert-rules/instance_down`, { enabled: false }))
        .statusCode,
    ).toBe(403);
    expect((await channels(stranger)('GET', url)).statusCode).toBe(404);
    expect((await channels(stranger)('POST', url, body)).statusCode).toBe(404);
    expect((await channels(stranger)('GET', `/api/v1/organizations/${orgId}/incidents`)).statusCode).toBe(404);
    // A viewer reads incidents, like the instances themselves.
    expect((await channels(viewer)('GET', `/api/v1/organizations/${orgId}/incidents`)).statusCode).toBe(200);
    const made = await channels(owner)('POST', url, body);
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json<{ channel: { id: string } }>().channel.id;
    expect((await channels(stranger)('DELETE', `${url}/${id}`)).statusCode).toBe(404);
    expect((await channels(owner)('PATCH', `${url}/${id}`, { enabled: false })).json()).toMatchObject({
      channel: { enabled: false },
    });
    expect((await channels(owner)('DELETE', `${url}/${id}`)).statusCode).toBe(200);
    const rules = await channels(owner)('GET', `/api/v1/organizations/${orgId}/alert-rules`);
    expect(rules.json<{ rules: unknown[] }>().rules[0]).toEqual({
      rule: 'instance_down',
      title: 'Instance down',
      description: expect.any(String),
      enabled: true,
      repeatMinutes: 240,
      settings: {},
      fields: [],
    });
  });
});

describe('the incident store', () => {
  it('opens, mails and closes exactly once when two Marina processes record the same checks', async () => {
    const { instances } = await insertInstanceRows(t.db, orgId, ['shop']);
    const instance = instances[0] as { id: string; name: string };
    const target = {
      id: instance.id,
      name: instance.name,
      organizationId: orgId,
      organizationName: 'acme',
      label: `p/${instance.name}`,
      url: null,
    };
    const policy = { failThreshold: 3, okThreshold: 2, quietMs: 600_000 };
    const make = () => new UptimeStore({ db: t.db, notifier: t.services.alertNotifier, policy, intervalMs: 30_000 });
    const [one, two] = [make(), make()];
    const down = { status: 0, error: 'ECONNREFUSED', ms: 1 };
    let at = t.clock.now().getTime();
    const both = async (ok: boolean) => {
      at += 30_000;
      const check = { at: new Date(at), ok, direct: ok ? { status: 200, error: null, ms: 1 } : down, proxy: null };
      // The second process checks a second later, in the same round.
      const results = await Promise.all([
        one.record(target, check),
        two.record(target, { ...check, at: new Date(at + 1000) }),
      ]);
      expect(results.filter((r) => r === 'recorded')).toHaveLength(1);
    };
    for (const ok of [false, false, false, false, true, true]) await both(ok);
    const incidents = await t.db.selectFrom('incidents').selectAll().where('instance_id', '=', instance.id).execute();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]?.resolved_at).not.toBeNull();
    expect(incidents[0]?.details).toMatchObject({ failed: 'direct', direct: { status: 0, error: 'ECONNREFUSED' } });
    // No channel: the owner gets the mails (defaults that work out of the box), each once.
    const mails = await t.db.selectFrom('mail_outbox').select(['key', 'to']).where('key', 'like', 'alert_%').execute();
    expect(mails.map((m) => `${m.key} ${m.to}`).sort()).toEqual([
      'alert_firing owner@acme.test',
      'alert_resolved owner@acme.test',
    ]);
    const day = await t.db.selectFrom('uptime_days').selectAll().where('instance_id', '=', instance.id).execute();
    expect(day.reduce((n, d) => n + d.checks, 0)).toBe(6);
    expect(day.reduce((n, d) => n + d.failures, 0)).toBe(4);
    // Down time counts the time since the previous check, at most an interval (the rounds are 29 to 31 s apart here).
    const downSeconds = day.reduce((n, d) => n + d.down_seconds, 0);
    expect(downSeconds).toBeGreaterThanOrEqual(116);
    expect(downSeconds).toBeLessThanOrEqual(120);
    // The database itself refuses a second open incident of an instance and kind.
    const open = {
      instance_id: instance.id,
      organization_id: orgId,
      kind: 'instance_down' as const,
      subject: instance.id,
      opened_at: new Date(),
    };
    await t.db.insertInto('incidents').values(open).execute();
    await expect(t.db.insertInto('incidents').values(open).execute()).rejects.toThrow(/incidents_open/);
  });
});

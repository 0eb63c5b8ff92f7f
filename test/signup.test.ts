import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/platform/context.js';
import { sha256 } from '../src/platform/secrets/secrets.js';
import { adminBrowser, as, type Browser, createTestApp, STRONG_PASSWORD, type TestApp } from './helpers/app.js';
import { edgeRequest } from './helpers/edge-client.js';
import type { EdgeStack } from './helpers/edge-stack.js';
import { type CapturedMessage, links, type SmtpCapture } from './helpers/smtp-capture.js';
import { type SignupWorld, startSignupWorld, waitFor } from './signup-support.js';

/**
 * Sign-up on real parts: PostgreSQL, the outbox sending to a capturing SMTP server, real Docker
 * running the Odoo stand-in for the first instance, Caddy (the edge stack's) serving it at the
 * chosen subdomain. Every refusal is asked through the public API; the tick is called by hand.
 */

const BASE = 'apps.signup.test';
const PUBLIC_URL = 'https://marina.signup.test';
let world: SignupWorld;
let stack: EdgeStack;
let smtp: SmtpCapture;
let t: TestApp;
let admin: Browser;
let planId: string;
let ipCounter = 10;

/** Each test speaks from its own client address, so the per-address limit of one does not touch another. */
const nextIp = () => `10.9.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

const settings = {
  enabled: true,
  refusedDomains: ['mailinator.com'],
  reservedNames: ['acme-internal'],
  perAddressPerDay: 50,
  perDomainPerDay: 500,
  perIpPerHour: 500,
};

const setTestSmtp = () => world.setSmtp();

/** SMTP set and sign-up open with the test's settings. */
async function openSignup(): Promise<void> {
  await setTestSmtp();
  const opened = await setSettings();
  if (opened.statusCode !== 200) throw new Error(`could not open sign-up: ${opened.body}`);
}

async function setSettings(change: Partial<typeof settings> = {}): Promise<LightMyRequestResponse> {
  return as(t, admin)('PUT', '/api/v1/settings/signup', { ...settings, ...change });
}

const post = (url: string, payload: object, ip: string) => world.post(url, payload, ip);
const form = (email: string, subdomain: string, extra: Record<string, unknown> = {}) =>
  world.form(email, subdomain, extra);

const code = (r: LightMyRequestResponse) => r.json<{ error: { code: string } }>().error?.code;

const mailsTo = (email: string) => world.mailsTo(email);
const tokenFor = (email: string) => world.tokenFor(email);
const jobEnded = (id: string) => world.jobEnded(id);

const signupRow = (email: string) =>
  t.db.selectFrom('signups').selectAll().where('email', '=', email).orderBy('created_at', 'desc').executeTakeFirst();

beforeAll(async () => {
  world = await startSignupWorld({ baseDomain: BASE, publicUrl: PUBLIC_URL });
  ({ t, stack, smtp, admin, planId } = world);
}, 300_000);

afterAll(async () => {
  await world?.close();
});

describe('sign-up settings', () => {
  it('is closed by default (404 everywhere), and cannot open without SMTP', async () => {
    await t.db.deleteFrom('settings').where('key', '=', 'signup').execute();
    await t.services.settings.clearSmtp(systemContext('test'));
    for (const [method, url] of [
      ['GET', '/api/v1/signup'],
      ['GET', '/api/v1/signup/subdomain?name=acme'],
    ] as const) {
      const closed = await t.app.inject({ method, url });
      expect(closed.statusCode, url).toBe(404);
      expect(code(closed)).toBe('MARINA_E_SIGNUP_CLOSED');
    }
    const refused = await post('/api/v1/signup', form('closed@x.test', 'closed-co'), nextIp());
    expect(refused.statusCode).toBe(404);
    expect(code(refused)).toBe('MARINA_E_SIGNUP_CLOSED');

    // No SMTP yet: opening is refused, saying what is missing.
    const noSmtp = await setSettings();
    expect(noSmtp.statusCode, noSmtp.body).toBe(409);
    expect(code(noSmtp)).toBe('MARINA_E_CONFLICT');
    expect(noSmtp.json<{ error: { message: string } }>().error.message).toContain('SMTP');
    expect(noSmtp.json<{ error: { details: { missing: string[] } } }>().error.details.missing).toEqual(['smtp']);
    const stillClosed = await t.app.inject({ method: 'GET', url: '/api/v1/signup' });
    expect(stillClosed.statusCode).toBe(404);

    await setTestSmtp();
    const opened = await setSettings();
    expect(opened.statusCode, opened.body).toBe(200);
    expect((await as(t, admin)('GET', '/api/v1/settings/signup')).json()).toEqual(settings);
    // A stranger cannot read or change it.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/settings/signup' })).statusCode).toBe(401);

    const info = await t.app.inject({ method: 'GET', url: '/api/v1/signup' });
    expect(info.statusCode, info.body).toBe(200);
    const body = info.json<{ baseDomain: string; plans: { id: string; trialDays: number }[] }>();
    expect(body.baseDomain).toBe(BASE);
    expect(body.plans.map((p) => p.id)).toEqual([planId]);
  });

  it('cannot open without a base domain', async () => {
    const bare = await createTestApp({});
    try {
      const who = await adminBrowser(bare);
      await bare.services.settings.setSmtp(systemContext('test'), {
        host: '127.0.0.1',
        port: smtp.port,
        security: 'none',
        from: 'marina@signup.test',
        username: null,
        password: null,
      });
      const refused = await as(bare, who)('PUT', '/api/v1/settings/signup', settings);
      expect(refused.statusCode, refused.body).toBe(409);
      expect(refused.json<{ error: { details: { missing: string[] } } }>().error.details.missing).toEqual([
        'baseDomain',
      ]);
    } finally {
      await bare.close();
    }
  });
});

describe('sign-up requests', () => {
  beforeAll(openSignup);

  it('refuses weak passwords, refused domains, bad plans and templates, and unusable subdomains', async () => {
    const ip = nextIp();
    const hidden = await t.db
      .insertInto('plans')
      .values({ slug: 'hidden', name: 'Hidden', public: false, trial_days: 14 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const paidOnly = await t.db
      .insertInto('plans')
      .values({ slug: 'paid', name: 'Paid', public: true, trial_days: 0 })
      .returning('id')
      .executeTakeFirstOrThrow();
    const archived = await t.db
      .insertInto('odoo_templates')
      .values({ slug: 'old', name: 'Old', odoo_version: '17.0', content_hash: 'x', archived_at: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await t.db
      .insertInto('signups')
      .values({
        email: 'holder@held.test',
        email_domain: 'held.test',
        organization_name: 'Holder',
        subdomain: 'held-name',
        plan_id: planId,
        token_hash: sha256('holder-token'),
        expires_at: new Date(t.clock.now().getTime() + 3_600_000),
      })
      .execute();
    const [V, TAKEN, REFUSED] = ['MARINA_E_VALIDATION', 'MARINA_E_NAME_TAKEN', 'MARINA_E_SIGNUP_REFUSED'];
    const cases: [string, Record<string, unknown>, number, string, string?][] = [
      // The password is chosen at verify, never by whoever asks for an address.
      ['a password in the request', form('a@weak.test', 'weak-co', { password: STRONG_PASSWORD }), 400, V],
      ['refused domain', form('a@mailinator.com', 'spam-co'), 400, REFUSED, 'email'],
      ['refused subdomain of it', form('a@eu.mailinator.com', 'spam-co'), 400, REFUSED],
      ['non-public plan', form('a@plan.test', 'plan-co', { planId: hidden.id }), 400, V, 'planId'],
      ['plan without trial', form('a@plan.test', 'plan-co', { planId: paidOnly.id }), 400, V, 'planId'],
      ['archived template', form('a@tpl.test', 'tpl-co', { templateId: archived.id }), 400, V, 'templateId'],
      ['edge-reserved subdomain', form('a@res.test', 'admin'), 409, TAKEN, 'subdomain'],
      ["admin's reserved subdomain", form('a@res.test', 'acme-internal'), 409, TAKEN],
      ['subdomain held by a pending sign-up', form('a@res.test', 'held-name'), 409, TAKEN],
      ['upper case subdomain', form('a@inv.test', 'Acme'), 400, V, 'subdomain'],
      ['two-label subdomain', form('a@inv.test', 'a.b.c'), 400, V, 'subdomain'],
      ['too short', form('a@inv.test', 'ab'), 400, V, 'subdomain'],
      ['too long', form('a@inv.test', 'a'.repeat(41)), 400, V, 'subdomain'],
      ['double dash', form('a@inv.test', 'a--b'), 400, V, 'subdomain'],
    ];
    for (const [what, payload, status, errorCode, field] of cases) {
      const answer = await post('/api/v1/signup', payload, ip);
      expect(answer.statusCode, `${what}: ${answer.body}`).toBe(status);
      expect(code(answer), what).toBe(errorCode);
      if (field) expect(answer.json<{ error: { details: { field: string } } }>().error.details.field, what).toBe(field);
    }
    expect(smtp.messages.filter((m) => /weak|mailinator|plan|tpl|res|inv/.test(m.to.join()))).toEqual([]);

    // The live check says the same.
    const checks = await Promise.all(
      ['admin', 'held-name', 'Acme', 'free-name'].map(async (name) =>
        (await t.app.inject({ method: 'GET', url: `/api/v1/signup/subdomain?name=${name}` })).json<{
          available: boolean;
          reason: string | null;
          hostname: string;
        }>(),
      ),
    );
    expect(checks.map((c) => c.reason)).toEqual(['reserved', 'taken', 'invalid', null]);
    expect(checks[3]).toMatchObject({ available: true, hostname: `free-name.${BASE}` });
  });

  it('answers the same for an existing account, and mails it "sign in instead"', async () => {
    const ip = nextIp();
    await t.services.users.createPlatformAdmin(systemContext('test'), {
      email: 'known@exist.test',
      password: STRONG_PASSWORD,
    });
    const known = await post('/api/v1/signup', form('known@exist.test', 'exist-one'), ip);
    const unknown = await post('/api/v1/signup', form('fresh@exist.test', 'exist-two'), ip);
    expect([known.statusCode, unknown.statusCode]).toEqual([202, 202]);
    expect(known.body).toBe(unknown.body);
    expect(known.json()).toEqual({ status: 'sent' });
    await waitFor('both mails', async () =>
      (await mailsTo('known@exist.test')).length > 0 && (await mailsTo('fresh@exist.test')).length > 0
        ? true
        : undefined,
    );
    const [existing] = await mailsTo('known@exist.test');
    expect(existing?.subject).toBe('[Marina] You already have an account');
    expect(links(existing as CapturedMessage)).toEqual(
      expect.arrayContaining([`${PUBLIC_URL}/login`, `${PUBLIC_URL}/reset`]),
    );
    expect((await mailsTo('fresh@exist.test'))[0]?.subject).toBe('[Marina] Confirm your email address');
    // Both hold their subdomain the same way (a row whose token, for the existing account, is never mailed).
    for (const email of ['known@exist.test', 'fresh@exist.test']) {
      const pending = await signupRow(email);
      expect(pending?.status, email).toBe('pending');
      expect(pending?.password_hash, email).toBeNull();
      expect(pending?.token_hash, email).toMatch(/^[0-9a-f]{64}$/);
      expect(pending && pending.expires_at.getTime() - pending.created_at.getTime(), email).toBe(24 * 3_600_000);
    }
    expect((await mailsTo('known@exist.test')).filter((m) => m.subject.includes('Confirm your email'))).toEqual([]);
    const answers = await Promise.all(
      ['exist-one', 'exist-two'].map(async (name) =>
        (await t.app.inject({ method: 'GET', url: `/api/v1/signup/subdomain?name=${name}`, remoteAddress: ip })).json<{
          reason: string | null;
        }>(),
      ),
    );
    expect(answers.map((a) => a.reason)).toEqual(['taken', 'taken']);
  });

  it('a second request replaces the first: the first link is dead, the same subdomain can be asked again', async () => {
    const ip = nextIp();
    expect((await post('/api/v1/signup', form('twice@repl.test', 'repl-co'), ip)).statusCode).toBe(202);
    const first = await tokenFor('twice@repl.test');
    expect((await post('/api/v1/signup', form('twice@repl.test', 'repl-co'), ip)).statusCode).toBe(202);
    await waitFor('the second mail', async () => ((await mailsTo('twice@repl.test')).length === 2 ? true : undefined));
    const second = await tokenFor('twice@repl.test');
    expect(second).not.toBe(first);
    const rows = await t.db
      .selectFrom('signups')
      .select('status')
      .where('email', '=', 'twice@repl.test')
      .orderBy('created_at')
      .execute();
    expect(rows.map((r) => r.status).sort()).toEqual(['pending', 'replaced']);
    const dead = await world.verify(first, undefined, ip);
    expect(code(dead), dead.body).toBe('MARINA_E_INVALID_TOKEN');
    expect(
      await t.db.selectFrom('users').select('id').where('email', '=', 'twice@repl.test').executeTakeFirst(),
    ).toBeUndefined();
  });

  it('an expired link makes nothing', async () => {
    const ip = nextIp();
    expect((await post('/api/v1/signup', form('late@exp.test', 'late-co'), ip)).statusCode).toBe(202);
    const token = await tokenFor('late@exp.test');
    const row = await signupRow('late@exp.test');
    t.clock.set(new Date((row as { expires_at: Date }).expires_at.getTime() + 1000));
    try {
      const late = await world.verify(token, undefined, ip);
      expect(code(late), late.body).toBe('MARINA_E_INVALID_TOKEN');
      const report = await t.services.signupTicker.tick();
      expect(report.expired).toBeGreaterThanOrEqual(1);
      expect((await signupRow('late@exp.test'))?.status).toBe('expired');
      // Its subdomain is free again.
      const check = await t.app.inject({ method: 'GET', url: '/api/v1/signup/subdomain?name=late-co' });
      expect(check.json<{ available: boolean }>().available).toBe(true);
    } finally {
      t.clock.set(new Date());
    }
    expect(
      await t.db.selectFrom('users').select('id').where('email', '=', 'late@exp.test').executeTakeFirst(),
    ).toBeUndefined();
  });

  it('limits requests per address, per email domain and per client address, each at its limit', async () => {
    await setSettings({ perAddressPerDay: 2, perDomainPerDay: 3, perIpPerHour: 4 });
    try {
      // Per address: 2 a day, from different clients.
      for (let i = 0; i < 2; i++)
        expect((await post('/api/v1/signup', form('one@lim-a.test', `lim-a${i}`), nextIp())).statusCode).toBe(202);
      const perAddress = await post('/api/v1/signup', form('one@lim-a.test', 'lim-a9'), nextIp());
      expect(perAddress.statusCode, perAddress.body).toBe(429);
      expect(perAddress.json<{ error: { message: string } }>().error.message).toContain('email address');

      // Per domain: 3 a day, different addresses and clients.
      for (let i = 0; i < 3; i++)
        expect((await post('/api/v1/signup', form(`u${i}@lim-d.test`, `lim-d${i}`), nextIp())).statusCode).toBe(202);
      const perDomain = await post('/api/v1/signup', form('u9@lim-d.test', 'lim-d9'), nextIp());
      expect(perDomain.statusCode, perDomain.body).toBe(429);
      expect(perDomain.json<{ error: { message: string } }>().error.message).toContain('email domain');

      // Per client: 4 an hour, different addresses and domains; an hour later it may again.
      const ip = nextIp();
      for (let i = 0; i < 4; i++)
        expect((await post('/api/v1/signup', form(`x@lim-i${i}.test`, `lim-i${i}`), ip)).statusCode).toBe(202);
      const perIp = await post('/api/v1/signup', form('x@lim-i9.test', 'lim-i9'), ip);
      expect(perIp.statusCode, perIp.body).toBe(429);
      expect(code(perIp)).toBe('MARINA_E_RATE_LIMITED');
      expect(perIp.json<{ error: { message: string } }>().error.message).toContain('from your address');
      t.clock.advanceMinutes(61);
      expect((await post('/api/v1/signup', form('x@lim-i9.test', 'lim-i9'), ip)).statusCode).toBe(202);

      // The live subdomain check: 60 a minute per client.
      const checker = nextIp();
      const check = () =>
        t.app.inject({ method: 'GET', url: '/api/v1/signup/subdomain?name=some-name', remoteAddress: checker });
      for (let i = 0; i < 60; i++) expect((await check()).statusCode).toBe(200);
      expect((await check()).statusCode).toBe(429);
      t.clock.advanceMinutes(1);
      expect((await check()).statusCode).toBe(200);
    } finally {
      t.clock.set(new Date());
      await setSettings();
    }
  });
});

describe('verifying', () => {
  beforeAll(openSignup);

  it('makes the account, organization, trial, project and the instance at <subdomain>.<base>; the tick welcomes once', async () => {
    const ip = nextIp();
    const email = 'ada@lovelace.test';
    expect(
      (await post('/api/v1/signup', form(email, 'lovelace', { organizationName: 'Lovelace & Co' }), ip)).statusCode,
    ).toBe(202);
    const token = await tokenFor(email);

    // Two clicks at once: one acts.
    const [a, b] = await Promise.all([world.verify(token, undefined, ip), world.verify(token, undefined, ip)]);
    const ok = [a, b].filter((r) => r.statusCode === 200);
    const other = [a, b].filter((r) => r.statusCode !== 200);
    expect(ok, `${a.body} / ${b.body}`).toHaveLength(1);
    expect(code(other[0] as LightMyRequestResponse)).toBe('MARINA_E_INVALID_TOKEN');
    const verified = ok[0] as LightMyRequestResponse;
    const body = verified.json<{
      user: { email: string };
      organization: { id: string; slug: string; name: string };
      instanceId: string;
      jobId: string;
      credentialsToken: string;
      csrfToken: string;
    }>();
    expect(body.user.email).toBe(email);
    expect(body.organization.name).toBe('Lovelace & Co');
    expect(body.credentialsToken.length).toBeGreaterThan(30);
    const cookie = verified.cookies.find((c) => c.name === 'marina_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(
      await t.db.selectFrom('organizations').select('id').where('name', '=', 'Lovelace & Co').execute(),
    ).toHaveLength(1);

    // Signed in as the owner of the new organization, with a trial.
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { cookie: `marina_session=${cookie?.value}` },
    });
    expect(me.statusCode, me.body).toBe(200);
    const org = me.json<{ organizations: { id: string; role: string; subscription: { status: string } | null }[] }>()
      .organizations[0];
    expect(org).toMatchObject({ id: body.organization.id, role: 'owner', subscription: { status: 'trialing' } });
    const user = await t.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
    expect(user.email_verified_at).not.toBeNull();
    const sub = await t.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', body.organization.id)
      .executeTakeFirstOrThrow();
    expect(sub.plan_id).toBe(planId);
    expect((sub.trial_ends_at as Date).getTime() - (sub.trial_started_at as Date).getTime()).toBe(14 * 86_400_000);
    const project = await t.db
      .selectFrom('projects')
      .selectAll()
      .where('organization_id', '=', body.organization.id)
      .executeTakeFirstOrThrow();
    expect(project).toMatchObject({ name: 'lovelace', odoo_version: '17.0' });
    const instance = await t.db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', body.instanceId)
      .executeTakeFirstOrThrow();
    expect(instance).toMatchObject({
      name: 'main',
      stage: 'production',
      hostname: `lovelace.${BASE}`,
      admin_login: email,
      project_id: project.id,
    });
    const job = await t.db.selectFrom('operations').selectAll().where('id', '=', body.jobId).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ kind: 'instance.provision', target_id: body.instanceId });
    const audit = await t.db
      .selectFrom('audit_events')
      .select('action')
      .where('organization_id', '=', body.organization.id)
      .execute();
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['organization.create', 'subscription.create', 'signup.verify', 'instance.create']),
    );
    expect(
      await t.db.selectFrom('credential_links').select('purpose').where('user_id', '=', user.id).execute(),
    ).toEqual([{ purpose: 'signup' }]);

    // The job succeeds; the tick (and the job listener) make it done, with exactly one welcome.
    expect(await jobEnded(body.jobId)).toBe('succeeded');
    await t.services.signupTicker.tick();
    await t.services.signupTicker.tick();
    expect((await signupRow(email))?.status).toBe('done');
    const welcome = (await mailsTo(email)).filter((m) => m.subject.includes('your Odoo is ready'));
    expect(welcome).toHaveLength(1);
    expect(welcome[0]?.subject).toBe('[Marina] Lovelace & Co: your Odoo is ready');
    const urls = links(welcome[0] as CapturedMessage);
    expect(urls.some((u) => u.startsWith(`${PUBLIC_URL}/credentials#token=`))).toBe(true);
    expect(urls.some((u) => u.startsWith(`https://lovelace.${BASE}`))).toBe(true);
    expect(
      await t.db.selectFrom('credential_links').select('purpose').where('user_id', '=', user.id).execute(),
    ).toHaveLength(2);

    // The subdomain is served by the edge.
    await t.services.edge.flush();
    const site = await edgeRequest(stack, {
      hostname: `lovelace.${BASE}`,
      path: '/web/standin/echo',
      timeoutMs: 30_000,
    });
    expect(site.status).toBe(200);
    // And it is taken now.
    const taken = await post('/api/v1/signup', form('bob@other.test', 'lovelace'), nextIp());
    expect(code(taken)).toBe('MARINA_E_NAME_TAKEN');
  }, 300_000);

  it('a crash between the two steps (no instance yet) is caught up by the tick', async () => {
    // Only the tick from here: the job listener (which settles a sign-up at once) is off.
    await t.services.signupTicker.stop();
    const ip = nextIp();
    const email = 'grace@hopper.test';
    expect((await post('/api/v1/signup', form(email, 'hopper'), ip)).statusCode).toBe(202);
    const token = await tokenFor(email);
    // The first step alone, as verify runs it, then "the process dies".
    await t.db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('signups')
        .set({ status: 'provisioning' })
        .where('token_hash', '=', sha256(token))
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirstOrThrow();
      await t.services.signupProvisioner.makeAccount(trx, claimed, { ip });
    });
    const stuck = await signupRow(email);
    expect(stuck).toMatchObject({ status: 'provisioning', instance_id: null });
    expect(
      await t.db.selectFrom('instances').select('id').where('hostname', '=', `hopper.${BASE}`).executeTakeFirst(),
    ).toBeUndefined();

    const report = await t.services.signupTicker.tick();
    expect(report.relaunched).toEqual([stuck?.id]);
    const caught = await signupRow(email);
    expect(caught?.instance_id).not.toBeNull();
    const instance = await t.db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', caught?.instance_id as string)
      .executeTakeFirstOrThrow();
    expect(instance.hostname).toBe(`hopper.${BASE}`);
    expect(await jobEnded(caught?.operation_id as string)).toBe('succeeded');
    // Not done before a tick sees the job's end; then done, one welcome, and no second instance.
    expect((await signupRow(email))?.status).toBe('provisioning');
    await t.services.signupTicker.tick();
    await t.services.signupTicker.tick();
    expect((await signupRow(email))?.status).toBe('done');
    expect(
      await t.db.selectFrom('instances').select('id').where('organization_id', '=', instance.organization_id).execute(),
    ).toHaveLength(1);
    expect((await mailsTo(email)).filter((m) => m.subject.includes('your Odoo is ready'))).toHaveLength(1);
  }, 300_000);
});

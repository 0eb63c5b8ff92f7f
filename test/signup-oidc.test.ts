import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/platform/context.js';
import { as, STRONG_PASSWORD, type TestApp } from './helpers/app.js';
import { startOidcProvider, type TestOidcProvider } from './helpers/oidc-provider.js';
import { links } from './helpers/smtp-capture.js';
import { callback, meOf } from './oidc-support.js';
import { type SignupWorld, startSignupWorld } from './signup-support.js';

/**
 * Signing up through an external provider: a real oidc-provider 9 on loopback, Marina's real
 * routes, openid-client and database, real Docker running the stand-in for the first instance.
 * The provider's verified address replaces the emailed link; nothing is made otherwise.
 */

const BASE = 'apps.oidc-signup.test';
const PUBLIC_URL = 'https://marina.oidc-signup.test';
let world: SignupWorld;
let t: TestApp;
let provider: TestOidcProvider;
let ipCounter = 1;
const nextIp = () => `10.8.0.${ipCounter++}`;

const settings = {
  enabled: true,
  refusedDomains: [],
  reservedNames: [],
  perAddressPerDay: 50,
  perDomainPerDay: 500,
  perIpPerHour: 500,
};

/** The sign-up form with the provider's button, then the start route: the flow cookie and the provider's address. */
async function startSignup(subdomain: string, organizationName: string, ip = nextIp()) {
  const asked = await t.app.inject({
    method: 'POST',
    url: '/api/v1/signup',
    payload: { provider: 'corp', organizationName, subdomain, planId: world.planId },
    remoteAddress: ip,
  });
  expect(asked.statusCode, asked.body).toBe(200);
  const { status, url } = asked.json<{ status: string; url: string }>();
  expect(status).toBe('redirect');
  expect(url).toMatch(/^\/api\/v1\/auth\/oidc\/corp\/start\?signup=[0-9a-f-]{36}$/);
  const draftId = url.split('signup=')[1] as string;
  const draft = await t.db.selectFrom('signups').selectAll().where('id', '=', draftId).executeTakeFirstOrThrow();
  expect(draft).toMatchObject({ status: 'draft', email: '', subdomain, token_hash: null });
  const started = await t.app.inject({ method: 'GET', url });
  expect(started.statusCode, started.body).toBe(302);
  const cookie = started.cookies.find((c) => c.name === 'marina_oidc');
  const flow = await t.db
    .selectFrom('oidc_logins')
    .selectAll()
    .where('signup_id', '=', draftId)
    .executeTakeFirstOrThrow();
  expect(flow.purpose).toBe('signup');
  return { draftId, flowCookie: `marina_oidc=${cookie?.value}`, authorizationUrl: String(started.headers.location) };
}

async function through(
  subdomain: string,
  organizationName: string,
  account: { sub: string; email: string; email_verified: boolean },
): Promise<{ response: LightMyRequestResponse; draftId: string }> {
  const { draftId, flowCookie, authorizationUrl } = await startSignup(subdomain, organizationName);
  provider.signInAs(account);
  const back = await provider.authorize(authorizationUrl);
  return { response: await callback(t, flowCookie, back), draftId };
}

const organizationsNamed = (name: string) =>
  t.db.selectFrom('organizations').select('id').where('name', '=', name).execute();

beforeAll(async () => {
  world = await startSignupWorld({ baseDomain: BASE, publicUrl: PUBLIC_URL }, { oidc: { allowInsecureIssuers: true } });
  t = world.t;
  provider = await startOidcProvider({ redirectUri: t.services.oidcFlows.redirectUri });
  const call = as(t, world.admin);
  expect((await call('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] })).statusCode).toBe(200);
  const made = await call('POST', '/api/v1/oidc-providers', {
    slug: 'corp',
    name: 'Corp SSO',
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
    allowSignup: true,
  });
  expect(made.statusCode, made.body).toBe(201);
  await world.setSmtp();
  const opened = await call('PUT', '/api/v1/settings/signup', settings);
  expect(opened.statusCode, opened.body).toBe(200);
}, 300_000);

afterAll(async () => {
  await provider?.close();
  await world?.close();
});

describe('sign-up through an external provider', () => {
  it('is offered only by providers that allow it', async () => {
    const info = await t.app.inject({ method: 'GET', url: '/api/v1/signup' });
    expect(info.json<{ providers: unknown[] }>().providers).toEqual([{ slug: 'corp', name: 'Corp SSO' }]);
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/signup',
      payload: { provider: 'nobody', organizationName: 'X', subdomain: 'nobody-co', planId: world.planId },
      remoteAddress: nextIp(),
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json<{ error: { details: { field: string } } }>().error.details.field).toBe('provider');
    // A start with a made-up draft goes back to the login page.
    const forged = await t.app.inject({
      method: 'GET',
      url: `/api/v1/auth/oidc/corp/start?signup=${crypto.randomUUID()}`,
    });
    expect(forged.statusCode).toBe(302);
    expect(forged.headers.location).toBe('/login?error=oidc_expired');
  });

  it('makes the account, organization, trial and instance, and lands on the welcome page', async () => {
    const email = 'kay@provider.test';
    const { response, draftId } = await through('kay-co', 'Kay Co', { sub: 'kay-1', email, email_verified: true });
    expect(response.statusCode).toBe(302);
    const location = String(response.headers.location);
    const welcome = /^\/signup\/welcome\?instance=([0-9a-f-]{36})&job=([0-9a-f-]{36})#credentials=(.+)$/.exec(location);
    expect(welcome, location).not.toBeNull();
    const [, instanceId, jobId, credentials] = welcome as RegExpExecArray;
    expect(decodeURIComponent(credentials as string).length).toBeGreaterThan(30);
    expect(await meOf(t, response)).toBe(email);

    const row = await t.db.selectFrom('signups').selectAll().where('id', '=', draftId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      status: 'provisioning',
      email,
      oidc_subject: 'kay-1',
      instance_id: instanceId,
      operation_id: jobId,
    });
    const user = await t.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
    expect(user.password_hash).toBeNull();
    expect(user.email_verified_at).not.toBeNull();
    const identity = await t.db
      .selectFrom('user_identities')
      .selectAll()
      .where('subject', '=', 'kay-1')
      .executeTakeFirstOrThrow();
    expect(identity.user_id).toBe(user.id);
    const [org] = await organizationsNamed('Kay Co');
    const sub = await t.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', org?.id as string)
      .executeTakeFirstOrThrow();
    expect(sub.status).toBe('trialing');
    const instance = await t.db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', instanceId as string)
      .executeTakeFirstOrThrow();
    expect(instance).toMatchObject({ hostname: `kay-co.${BASE}`, stage: 'production', admin_login: email });

    // No link mail was needed; when the instance is ready, the welcome mail comes, once.
    const status = await world.jobEnded(jobId as string);
    expect(status).toBe('succeeded');
    await t.services.signupTicker.tick();
    await t.services.notices.drain();
    const mails = world.smtp.messages.filter((m) => m.to.includes(email));
    expect(mails.map((m) => m.subject)).toEqual(['[Marina] Kay Co: your Odoo is ready']);
    expect(
      links(mails[0] as (typeof mails)[number]).some((u) => u.startsWith(`${PUBLIC_URL}/credentials#token=`)),
    ).toBe(true);

    // The same person signs in through the provider later: by subject, to `/`.
    provider.signInAs({ sub: 'kay-1', email, email_verified: true });
    const started = await t.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/corp/start' });
    const back = await provider.authorize(String(started.headers.location));
    const again = await callback(
      t,
      `marina_oidc=${started.cookies.find((c) => c.name === 'marina_oidc')?.value}`,
      back,
    );
    expect(again.headers.location).toBe('/');
  }, 300_000);

  it('an address the provider has not verified makes nothing', async () => {
    const { response, draftId } = await through('unver-co', 'Unverified Co', {
      sub: 'unver-1',
      email: 'unver@provider.test',
      email_verified: false,
    });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('/login?error=email_unverified');
    expect(response.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
    expect(await organizationsNamed('Unverified Co')).toEqual([]);
    expect(await t.db.selectFrom('users').select('id').where('email', '=', 'unver@provider.test').execute()).toEqual(
      [],
    );
    expect(
      await t.db.selectFrom('user_identities').select('user_id').where('subject', '=', 'unver-1').execute(),
    ).toEqual([]);
    const row = await t.db
      .selectFrom('signups')
      .select(['status', 'email'])
      .where('id', '=', draftId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'draft', email: '' });
  });

  it("an existing account's address is refused: sign in instead, nothing made", async () => {
    await t.services.users.createPlatformAdmin(systemContext('test'), {
      email: 'ann@exists.test',
      password: STRONG_PASSWORD,
    });
    const before = await t.db.selectFrom('organizations').select('id').execute();
    const { response, draftId } = await through('ann-co', 'Ann Co', {
      sub: 'ann-1',
      email: 'ann@exists.test',
      email_verified: true,
    });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('/login?error=account_exists');
    expect(response.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
    expect(await t.db.selectFrom('organizations').select('id').execute()).toEqual(before);
    expect(await t.db.selectFrom('user_identities').select('user_id').where('subject', '=', 'ann-1').execute()).toEqual(
      [],
    );
    expect(
      (await t.db.selectFrom('signups').select('status').where('id', '=', draftId).executeTakeFirstOrThrow()).status,
    ).toBe('draft');
  });

  it('a draft coming back obeys the settings of that moment: closed, refused domain, per-address limit', async () => {
    const call = as(t, world.admin);
    const comeBack = async (
      subdomain: string,
      account: { sub: string; email: string },
      change: Record<string, unknown>,
    ) => {
      const { draftId, flowCookie, authorizationUrl } = await startSignup(subdomain, `Org ${subdomain}`);
      provider.signInAs({ ...account, email_verified: true });
      const back = await provider.authorize(authorizationUrl);
      const changed = await call('PUT', '/api/v1/settings/signup', { ...settings, ...change });
      expect(changed.statusCode, changed.body).toBe(200);
      try {
        const response = await callback(t, flowCookie, back);
        const row = await t.db
          .selectFrom('signups')
          .select('status')
          .where('id', '=', draftId)
          .executeTakeFirstOrThrow();
        expect(row.status, subdomain).toBe('draft');
        expect(await t.db.selectFrom('users').select('id').where('email', '=', account.email).execute()).toEqual([]);
        expect(await organizationsNamed(`Org ${subdomain}`)).toEqual([]);
        // The callback turns any refusal but its own into the login page's generic error.
        return { status: response.statusCode, location: response.headers.location };
      } finally {
        await call('PUT', '/api/v1/settings/signup', settings);
      }
    };
    const refused = { status: 302, location: '/login?error=oidc_failed' };
    expect(await comeBack('late-closed', { sub: 'late-1', email: 'late@closed.test' }, { enabled: false })).toEqual(
      refused,
    );
    expect(
      await comeBack(
        'late-refused',
        { sub: 'late-2', email: 'late@eu.refused-later.test' },
        { refusedDomains: ['refused-later.test'] },
      ),
    ).toEqual(refused);
    // The provider's address counts against the per-address limit like an emailed request would.
    const asked = await world.post('/api/v1/signup', world.form('late@limited.test', 'late-email'), nextIp());
    expect(asked.statusCode, asked.body).toBe(202);
    expect(
      await comeBack('late-limit', { sub: 'late-3', email: 'late@limited.test' }, { perAddressPerDay: 1 }),
    ).toEqual(refused);
    // With the settings back, the same kind of draft completes: the refusals above were the settings'.
    const { response } = await through('late-ok', 'Late Ok', {
      sub: 'late-4',
      email: 'late@eu.refused-later.test',
      email_verified: true,
    });
    expect(String(response.headers.location)).toMatch(/^\/signup\/welcome\?/);
  }, 120_000);

  it('drafts count against the per-client limit', async () => {
    const call = as(t, world.admin);
    expect((await call('PUT', '/api/v1/settings/signup', { ...settings, perIpPerHour: 2 })).statusCode).toBe(200);
    try {
      const ip = nextIp();
      await startSignup('lim-one', 'Lim One', ip);
      await startSignup('lim-two', 'Lim Two', ip);
      const third = await t.app.inject({
        method: 'POST',
        url: '/api/v1/signup',
        payload: { provider: 'corp', organizationName: 'Lim Three', subdomain: 'lim-three', planId: world.planId },
        remoteAddress: ip,
      });
      expect(third.statusCode, third.body).toBe(429);
    } finally {
      await call('PUT', '/api/v1/settings/signup', settings);
    }
  });
});

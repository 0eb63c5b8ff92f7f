import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminBrowser, as, type Browser, createTestApp, type TestApp } from './helpers/app.js';
import { makeOrganizationWithAdmin } from './helpers/factories.js';
import { startOidcProvider, type TestOidcProvider } from './helpers/oidc-provider.js';
import {
  addProvider,
  callback,
  failureReasons,
  failuresSince,
  meOf,
  signInThrough,
  startSignIn,
} from './oidc-support.js';

/**
 * Signing in through an external OpenID Connect provider: a real oidc-provider 9 on loopback,
 * Marina's real routes, database and openid-client. Each refusal is named by the reason Marina
 * records, so a test passes only when that check (not another one) refused.
 */
describe('external sign-in (OpenID Connect)', () => {
  let t: TestApp;
  let admin: Browser;
  let provider: TestOidcProvider;
  let providerId: string;

  beforeAll(async () => {
    t = await createTestApp({}, { oidc: { allowInsecureIssuers: true } });
    admin = await adminBrowser(t);
    provider = await startOidcProvider({ redirectUri: t.services.oidcFlows.redirectUri });
    await makeOrganizationWithAdmin(t, admin, { slug: 'acme', email: 'ada@acme.test' });
    await makeOrganizationWithAdmin(t, admin, { slug: 'globex', email: 'grace@globex.test' });
    await makeOrganizationWithAdmin(t, admin, { slug: 'initech', email: 'peter@initech.test' });
    // The provider listens on loopback, an internal range only a platform admin can allow.
    const refused = await as(t, admin)('POST', '/api/v1/oidc-providers', {
      slug: 'corp',
      name: 'Corp SSO',
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
    });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('MARINA_E_OUTBOUND_REFUSED');
    const allowed = await as(t, admin)('PUT', '/api/v1/settings/outbound', { allowedRanges: ['127.0.0.0/8'] });
    expect(allowed.statusCode, allowed.body).toBe(200);
    providerId = await addProvider(t, admin, provider);
  }, 120_000);

  afterAll(async () => {
    await provider?.close();
    await t?.close();
  });

  it('keeps the client secret sealed and lists only enabled providers to the login page', async () => {
    const listed = await as(t, admin)('GET', '/api/v1/oidc-providers');
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(provider.clientSecret);
    const stored = await t.db
      .selectFrom('oidc_providers')
      .select('client_secret')
      .where('id', '=', providerId)
      .executeTakeFirstOrThrow();
    expect(stored.client_secret).not.toContain(provider.clientSecret);
    expect(stored.client_secret.startsWith('v2.')).toBe(true);
    const page = await t.app.inject({ method: 'GET', url: '/api/v1/auth/providers' });
    expect(page.json()).toEqual([{ slug: 'corp', name: 'Corp SSO' }]);
    const audited = await t.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'oidc_provider.create')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(audited.details)).not.toContain(provider.clientSecret);
  });

  it('refuses to save an issuer whose discovery does not answer, and non-admins', async () => {
    const wrong = await as(t, admin)('POST', '/api/v1/oidc-providers', {
      slug: 'broken',
      name: 'Broken',
      issuer: `${provider.issuer}/nothing-here`,
      clientId: 'x',
      clientSecret: 'y',
    });
    expect(wrong.statusCode, wrong.body).toBe(400);
    expect(wrong.json<{ error: { details: { field: string } } }>().error.details.field).toBe('issuer');
    const stranger = await makeOrganizationWithAdmin(t, admin, { slug: 'umbrella', email: 'al@umbrella.test' });
    const forbidden = await as(t, stranger.admin)('GET', '/api/v1/oidc-providers');
    expect(forbidden.statusCode).toBe(403);
    const notMade = await as(t, stranger.admin)('POST', '/api/v1/oidc-providers', {
      slug: 'evil',
      name: 'Evil',
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
    });
    expect(notMade.statusCode).toBe(403);
  });

  it('signs in an existing account by its verified email, links it, then signs in by subject', async () => {
    provider.signInAs({ sub: 'ada-123', email: 'Ada@Acme.test', email_verified: true });
    const first = await signInThrough(t, provider);
    expect(first.statusCode).toBe(302);
    expect(first.headers.location).toBe('/');
    expect(await meOf(t, first)).toBe('ada@acme.test');
    const linked = await t.db.selectFrom('user_identities').selectAll().where('subject', '=', 'ada-123').execute();
    expect(linked).toHaveLength(1);
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['target_label'])
      .where('action', '=', 'user.link_identity')
      .execute();
    expect(audit.map((a) => a.target_label)).toEqual(['ada@acme.test']);

    // The same person later has another (unverified) address at the provider: the subject decides.
    provider.signInAs({ sub: 'ada-123', email: 'ada@elsewhere.test', email_verified: false });
    const second = await signInThrough(t, provider);
    expect(second.headers.location).toBe('/');
    expect(await meOf(t, second)).toBe('ada@acme.test');
    expect(await t.db.selectFrom('user_identities').selectAll().execute()).toHaveLength(1);
  });

  it('reads the email from the userinfo endpoint when the ID token has none', async () => {
    const plain = await startOidcProvider({ redirectUri: t.services.oidcFlows.redirectUri, claimsInIdToken: false });
    const plainId = await addProvider(t, admin, plain, { slug: 'plain', name: 'Plain OIDC' });
    try {
      plain.signInAs({ sub: 'grace-plain', email: 'grace@globex.test', email_verified: true });
      const signedIn = await signInThrough(t, plain, 'plain');
      expect(await meOf(t, signedIn)).toBe('grace@globex.test');
      plain.signInAs({ sub: 'peter-plain', email: 'peter@initech.test', email_verified: false });
      const unverified = await signInThrough(t, plain, 'plain');
      expect(unverified.headers.location).toBe('/login?error=email_unverified');
    } finally {
      await plain.close();
      // Removing a provider unlinks its identities; the accounts stay.
      const removed = await as(t, admin)('DELETE', `/api/v1/oidc-providers/${plainId}`);
      expect(removed.statusCode).toBe(204);
    }
    const left = await t.db.selectFrom('user_identities').selectAll().where('subject', '=', 'grace-plain').execute();
    expect(left).toEqual([]);
  });

  it('refuses an ID token for another audience (re-signed with the provider’s own key)', async () => {
    const before = await failureReasons(t);
    provider.signInAs({ sub: 'grace-1', email: 'grace@globex.test', email_verified: true });
    provider.tamper = { kind: 'audience', aud: 'another-client' };
    try {
      const refused = await signInThrough(t, provider);
      expect(refused.headers.location).toBe('/login?error=oidc_failed');
      expect(refused.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
      expect(await failuresSince(t, before)).toEqual(['audience']);
      // The control: the same re-signing with the right audience is accepted.
      provider.tamper = { kind: 'resign' };
      const accepted = await signInThrough(t, provider);
      expect(await meOf(t, accepted)).toBe('grace@globex.test');
    } finally {
      provider.tamper = null;
    }
  });

  it('accepts a state once: the callback replayed fails before reaching the provider', async () => {
    provider.signInAs({ sub: 'peter-1', email: 'peter@initech.test', email_verified: true });
    const { flowCookie, authorizationUrl } = await startSignIn(t);
    const back = await provider.authorize(authorizationUrl);
    const first = await callback(t, flowCookie, back);
    expect(await meOf(t, first)).toBe('peter@initech.test');
    const tokenRequests = provider.tokenRequests;
    const before = await failureReasons(t);
    const replayed = await callback(t, flowCookie, back);
    expect(replayed.headers.location).toBe('/login?error=oidc_failed');
    expect(replayed.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
    expect(await failuresSince(t, before)).toEqual(['replayed']);
    expect(provider.tokenRequests).toBe(tokenRequests);
  });

  it('needs the flow cookie of the browser that started it', async () => {
    provider.signInAs({ sub: 'peter-1', email: 'peter@initech.test', email_verified: true });
    const { authorizationUrl } = await startSignIn(t);
    const back = await provider.authorize(authorizationUrl);
    const other = await startSignIn(t);
    const before = await failureReasons(t);
    const refused = await callback(t, other.flowCookie, back);
    expect(refused.headers.location).toBe('/login?error=oidc_failed');
    expect(await failuresSince(t, before)).toEqual(['state']);
  });

  it('fails the exchange when the PKCE verifier is not the one the challenge was made from', async () => {
    provider.signInAs({ sub: 'peter-1', email: 'peter@initech.test', email_verified: true });
    const { flowCookie, authorizationUrl } = await startSignIn(t);
    const back = await provider.authorize(authorizationUrl);
    // Someone holding a stolen code but not the verifier: the stored verifier is altered.
    await t.db
      .updateTable('oidc_logins')
      .set({ code_verifier: 'x'.repeat(43) })
      .where('used_at', 'is', null)
      .execute();
    const before = await failureReasons(t);
    const refused = await callback(t, flowCookie, back);
    expect(refused.headers.location).toBe('/login?error=oidc_failed');
    expect(refused.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
    expect(await failuresSince(t, before)).toEqual(['pkce']);
  });

  it('links by email only when the provider verified it', async () => {
    provider.signInAs({ sub: 'mallory', email: 'grace@globex.test', email_verified: false });
    const before = await failureReasons(t);
    const refused = await signInThrough(t, provider);
    expect(refused.headers.location).toBe('/login?error=email_unverified');
    expect(refused.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
    expect(await failuresSince(t, before)).toEqual(['email_unverified']);
    const mallory = await t.db.selectFrom('user_identities').selectAll().where('subject', '=', 'mallory').execute();
    expect(mallory).toEqual([]);
  });

  it('never links a platform admin’s account by email', async () => {
    const adminEmail = 'admin@example.com';
    provider.signInAs({ sub: 'admin-lookalike', email: adminEmail, email_verified: true });
    const before = await failureReasons(t);
    const refused = await signInThrough(t, provider);
    expect(refused.headers.location).toBe('/login?error=link_refused');
    expect(refused.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
    expect(await failuresSince(t, before)).toEqual(['platform_admin']);
    const linked = await t.db
      .selectFrom('user_identities')
      .selectAll()
      .where('subject', '=', 'admin-lookalike')
      .execute();
    expect(linked).toEqual([]);
  });

  it('sends someone without an account to the login page to sign up', async () => {
    provider.signInAs({ sub: 'nobody', email: 'nobody@nowhere.test', email_verified: true });
    const refused = await signInThrough(t, provider);
    expect(refused.headers.location).toBe('/login?error=no_account');
    expect(await t.db.selectFrom('users').select('id').where('email', '=', 'nobody@nowhere.test').execute()).toEqual(
      [],
    );
  });

  it('refuses a flow that came back after ten minutes', async () => {
    provider.signInAs({ sub: 'peter-1', email: 'peter@initech.test', email_verified: true });
    const { flowCookie, authorizationUrl } = await startSignIn(t);
    const back = await provider.authorize(authorizationUrl);
    const tokenRequests = provider.tokenRequests;
    t.clock.advanceMinutes(11);
    const before = await failureReasons(t);
    const refused = await callback(t, flowCookie, back);
    expect(refused.headers.location).toBe('/login?error=oidc_expired');
    expect(await failuresSince(t, before)).toEqual(['expired']);
    expect(provider.tokenRequests).toBe(tokenRequests);
  });

  it('refuses a disabled account, linked or not', async () => {
    const stranger = await makeOrganizationWithAdmin(t, admin, { slug: 'hooli', email: 'gavin@hooli.test' });
    provider.signInAs({ sub: 'gavin-1', email: 'gavin@hooli.test', email_verified: true });
    expect(await meOf(t, await signInThrough(t, provider))).toBe('gavin@hooli.test');
    const disabled = await as(t, admin)('POST', `/api/v1/users/${stranger.admin.userId}/disable`, {});
    expect(disabled.statusCode, disabled.body).toBe(200);
    const bySubject = await signInThrough(t, provider);
    expect(bySubject.headers.location).toBe('/login?error=account_disabled');
    expect(bySubject.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
    provider.signInAs({ sub: 'gavin-2', email: 'gavin@hooli.test', email_verified: true });
    const byEmail = await signInThrough(t, provider);
    expect(byEmail.headers.location).toBe('/login?error=account_disabled');
    expect(await t.db.selectFrom('user_identities').selectAll().where('subject', '=', 'gavin-2').execute()).toEqual([]);
  });

  it('sends the browser back to the login page when the provider does not answer', async () => {
    const row = await t.db
      .selectFrom('oidc_providers')
      .select(['issuer', 'updated_at'])
      .where('id', '=', providerId)
      .executeTakeFirstOrThrow();
    // As if the provider moved: nothing listens on the discard port.
    await t.db
      .updateTable('oidc_providers')
      .set({ issuer: 'http://127.0.0.1:9' })
      .where('id', '=', providerId)
      .execute();
    try {
      const start = await t.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/corp/start' });
      expect(start.statusCode).toBe(302);
      expect(start.headers.location).toBe('/login?error=provider_unavailable');
      expect(start.cookies.find((c) => c.name === 'marina_oidc')).toBeUndefined();
    } finally {
      await t.db.updateTable('oidc_providers').set(row).where('id', '=', providerId).execute();
    }
  });

  it('does not offer sign-up through a provider yet, nor a disabled provider', async () => {
    const signup = await t.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/corp/start?purpose=signup' });
    expect(signup.statusCode).toBe(400);
    const off = await as(t, admin)('PATCH', `/api/v1/oidc-providers/${providerId}`, { enabled: false });
    expect(off.statusCode, off.body).toBe(200);
    try {
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/providers' })).json()).toEqual([]);
      const start = await t.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/corp/start' });
      expect(start.statusCode).toBe(404);
    } finally {
      await as(t, admin)('PATCH', `/api/v1/oidc-providers/${providerId}`, { enabled: true });
    }
  });
});

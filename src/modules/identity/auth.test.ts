import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  countRows,
  createTestApp,
  STRONG_PASSWORD,
  sessionCookie,
  signIn,
  type TestApp,
  withToken,
} from '../../../test/helpers/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({ MARINA_SESSION_IDLE_MINUTES: '30', MARINA_SESSION_MAX_AGE_HOURS: '24' });
});
afterEach(() => t.close());

describe('first-run setup', () => {
  it('has no default credentials and creates the first admin once, with the one-time link', async () => {
    expect((await t.app.inject('/api/v1/setup')).json()).toEqual({ needed: true });
    for (const [email, password] of [
      ['admin@example.com', 'admin'],
      ['admin', 'admin'],
      ['admin@localhost', 'admin'],
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
    }
    const link = await t.services.setup.issueLink('http://marina.test');
    const token = link?.split('#')[1];
    expect(token).toBeTruthy();

    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { token: 'not-the-token', email: 'root@example.com', password: STRONG_PASSWORD },
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error.code).toBe('MARINA_E_INVALID_SETUP_TOKEN');

    const weak = await t.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { token, email: 'root@example.com', password: 'short' },
    });
    expect(weak.json().error.code).toBe('MARINA_E_WEAK_PASSWORD');

    const done = await t.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { token, email: 'Root@Example.com', name: 'Root', password: STRONG_PASSWORD },
    });
    expect(done.statusCode).toBe(201);
    expect(done.json().user).toMatchObject({ email: 'root@example.com', isPlatformAdmin: true });
    const me = await t.app.inject({ url: '/api/v1/me', headers: { cookie: sessionCookie(done) } });
    expect(me.json().user.email).toBe('root@example.com');

    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { token, email: 'second@example.com', password: STRONG_PASSWORD },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('MARINA_E_SETUP_DONE');
    expect(await t.services.setup.issueLink('http://marina.test')).toBeUndefined();
    expect(await countRows(t.db, 'users')).toBe(1);
  });
});

describe('sessions', () => {
  it('logs in with an HttpOnly SameSite=Lax cookie, and logout really ends the session', async () => {
    await t.services.users.createPlatformAdmin(
      { actor: { kind: 'system', label: 'test' }, ip: null },
      { email: 'a@example.com', password: STRONG_PASSWORD },
    );
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'A@example.com ', password: STRONG_PASSWORD },
    });
    expect(login.statusCode).toBe(200);
    const cookie = login.cookies.find((c) => c.name === 'marina_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie?.secure).toBeFalsy();
    const browser = { cookie: sessionCookie(login), csrf: login.json().csrfToken, userId: login.json().user.id };

    expect((await as(t, browser)('GET', '/api/v1/me')).statusCode).toBe(200);
    const logout = await as(t, browser)('POST', '/api/v1/auth/logout');
    expect(logout.statusCode).toBe(204);
    const after = await as(t, browser)('GET', '/api/v1/me');
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('MARINA_E_UNAUTHENTICATED');
  });

  it('marks the cookie Secure behind TLS', async () => {
    const tls = await createTestApp({ MARINA_PUBLIC_URL: 'https://marina.example.com' });
    try {
      await tls.services.users.createPlatformAdmin(
        { actor: { kind: 'system', label: 'test' }, ip: null },
        { email: 'a@example.com', password: STRONG_PASSWORD },
      );
      const login = await tls.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'a@example.com', password: STRONG_PASSWORD },
      });
      expect(login.cookies.find((c) => c.name === 'marina_session')?.secure).toBe(true);
    } finally {
      await tls.close();
    }
  });

  it('expires a session after the idle timeout and after its maximum age', async () => {
    const admin = await adminBrowser(t);
    t.clock.advanceMinutes(29);
    expect((await as(t, admin)('GET', '/api/v1/me')).statusCode).toBe(200);
    t.clock.advanceMinutes(29); // active 29 minutes ago: still within the idle window
    expect((await as(t, admin)('GET', '/api/v1/me')).statusCode).toBe(200);
    t.clock.advanceMinutes(31);
    const idle = await as(t, admin)('GET', '/api/v1/me');
    expect(idle.statusCode).toBe(401);
    expect(idle.json().error.code).toBe('MARINA_E_SESSION_EXPIRED');

    const busy = await signIn(t.app, 'admin@example.com');
    for (let minutes = 0; minutes < 24 * 60 - 20; minutes += 20) {
      t.clock.advanceMinutes(20);
      expect((await as(t, busy)('GET', '/api/v1/me')).statusCode).toBe(200);
    }
    t.clock.advanceMinutes(25);
    expect((await as(t, busy)('GET', '/api/v1/me')).json().error.code).toBe('MARINA_E_SESSION_EXPIRED');
  });

  it('rejects cookie-authenticated writes without the right CSRF token, and changes nothing', async () => {
    const admin = await adminBrowser(t);
    const before = await countRows(t.db, 'organizations');
    for (const headers of [
      { cookie: admin.cookie },
      { cookie: admin.cookie, 'x-marina-csrf': 'forged' },
      { cookie: admin.cookie, 'x-marina-csrf': '' },
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/organizations',
        headers,
        payload: { slug: 'acme', name: 'ACME' },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('MARINA_E_CSRF');
    }
    const otherSession = await signIn(t.app, 'admin@example.com');
    const crossed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/organizations',
      headers: { cookie: admin.cookie, 'x-marina-csrf': otherSession.csrf },
      payload: { slug: 'acme', name: 'ACME' },
    });
    expect(crossed.json().error.code).toBe('MARINA_E_CSRF');
    expect(await countRows(t.db, 'organizations')).toBe(before);
    // Reads need no token, and the right token lets the write through.
    expect((await t.app.inject({ url: '/api/v1/organizations', headers: { cookie: admin.cookie } })).statusCode).toBe(
      200,
    );
    expect((await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' })).statusCode).toBe(201);
  });

  it('refuses form-encoded logins (no cross-site login without a CORS preflight)', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=a%40example.com&password=x',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('MARINA_E_UNSUPPORTED_MEDIA_TYPE');
  });

  it('survives a restart of the application (sessions live in the database)', async () => {
    const admin = await adminBrowser(t);
    const { buildApp } = await import('../../app/http.js');
    const pino = (await import('pino')).default;
    const second = await buildApp({
      config: t.config,
      services: t.services,
      db: t.db,
      logger: pino({ level: 'silent' }),
    });
    await t.app.close();
    const me = await second.inject({ url: '/api/v1/me', headers: { cookie: admin.cookie } });
    expect(me.statusCode).toBe(200);
    await second.close();
  });
});

describe('password change', () => {
  it('needs the current password, refuses weak ones, and ends the other sessions', async () => {
    const admin = await adminBrowser(t);
    const laptop = await signIn(t.app, 'admin@example.com');
    const change = as(t, admin);
    const wrong = await change('POST', '/api/v1/me/password', {
      currentPassword: 'not it at all',
      newPassword: 'a brand new passphrase',
      revokeTokens: false,
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error).toMatchObject({ code: 'MARINA_E_VALIDATION', details: { field: 'currentPassword' } });
    const weak = await change('POST', '/api/v1/me/password', {
      currentPassword: STRONG_PASSWORD,
      newPassword: 'aaaaaaaaaaaaaaa',
      revokeTokens: false,
    });
    expect(weak.json().error.code).toBe('MARINA_E_WEAK_PASSWORD');
    expect((await as(t, laptop)('GET', '/api/v1/me')).statusCode).toBe(200);

    const ok = await change('POST', '/api/v1/me/password', {
      currentPassword: STRONG_PASSWORD,
      newPassword: 'a brand new passphrase',
      revokeTokens: false,
    });
    expect(ok.statusCode).toBe(204);
    expect((await as(t, admin)('GET', '/api/v1/me')).statusCode).toBe(200);
    expect((await as(t, laptop)('GET', '/api/v1/me')).statusCode).toBe(401);
    await expect(signIn(t.app, 'admin@example.com')).rejects.toThrow();
    expect((await signIn(t.app, 'admin@example.com', 'a brand new passphrase')).cookie).toMatch(/^marina_session=/);
  });

  it('keeps API tokens unless asked to revoke them, and then deletes them', async () => {
    const admin = await adminBrowser(t);
    const laptop = await signIn(t.app, 'admin@example.com');
    const secret = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'ci' })).json().secret;
    const kept = await as(t, admin)('POST', '/api/v1/me/password', {
      currentPassword: STRONG_PASSWORD,
      newPassword: 'a brand new passphrase',
      revokeTokens: false,
    });
    expect(kept.statusCode).toBe(204);
    expect((await as(t, laptop)('GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(200);

    const phone = await signIn(t.app, 'admin@example.com', 'a brand new passphrase');
    const revoked = await as(t, admin)('POST', '/api/v1/me/password', {
      currentPassword: 'a brand new passphrase',
      newPassword: 'yet another passphrase',
      revokeTokens: true,
    });
    expect(revoked.statusCode).toBe(204);
    expect((await as(t, admin)('GET', '/api/v1/me')).statusCode).toBe(200);
    expect((await as(t, phone)('GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).json().error.code).toBe('MARINA_E_INVALID_TOKEN');
    expect(await countRows(t.db, 'api_tokens')).toBe(0);
    const events = await t.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'user.change_password')
      .execute();
    expect(events.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ tokensRevoked: 0 }),
        expect.objectContaining({ otherSessionsEnded: 1, tokensRevoked: 1 }),
      ]),
    );
  });
});

describe('invitations', () => {
  it('lets a new member choose a password with a one-time link', async () => {
    const admin = await adminBrowser(t);
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    const added = await as(t, admin)('POST', '/api/v1/organizations/acme/members', {
      email: 'new@acme.test',
      role: 'member',
    });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ status: 'invited', invitation: { email: 'new@acme.test', mailed: false } });
    await expect(signIn(t.app, 'new@acme.test', STRONG_PASSWORD)).rejects.toThrow();
    // No SMTP here: a platform admin hands out the link.
    const link = await as(t, admin)('POST', `/api/v1/invitations/${added.json().invitation.id}/link`);
    const token = String(link.json().url).split('#')[1];
    const accept = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/invite',
      payload: { token, password: STRONG_PASSWORD },
    });
    expect(accept.statusCode).toBe(200);
    const reuse = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/invite',
      payload: { token, password: 'another fine passphrase' },
    });
    expect(reuse.statusCode).toBe(404);
    const member2 = await signIn(t.app, 'new@acme.test');
    expect((await as(t, member2)('GET', '/api/v1/me')).json().organizations).toEqual([
      expect.objectContaining({ slug: 'acme', role: 'viewer' }),
    ]);
  });
});

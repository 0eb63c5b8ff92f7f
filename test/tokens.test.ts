import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBrowser, as, countRows, createTestApp, memberBrowser, type TestApp, withToken } from './helpers/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

describe('API tokens', () => {
  it('are shown once, stored hashed, used as Bearer, record last use, and stop working when revoked', async () => {
    const admin = await adminBrowser(t);
    const created = await as(t, admin)('POST', '/api/v1/tokens', { name: 'deploy bot' });
    expect(created.statusCode).toBe(201);
    const { token, secret } = created.json();
    expect(secret).toMatch(/^mrn_[A-Za-z0-9_-]{43}$/);
    expect(token).toMatchObject({ name: 'deploy bot', prefix: secret.slice(0, 12), lastUsedAt: null, revokedAt: null });

    const stored = await t.db.selectFrom('api_tokens').selectAll().executeTakeFirstOrThrow();
    expect(stored.token_hash).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(4));
    const listed = await as(t, admin)('GET', '/api/v1/tokens');
    expect(listed.body).not.toContain(secret.slice(12));

    const api = withToken(t, secret);
    const me = await api('GET', '/api/v1/me');
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ authMethod: 'token', csrfToken: null, user: { email: 'admin@example.com' } });
    // Tokens need no CSRF header: browsers never send them on their own.
    expect(
      (await api('POST', '/api/v1/organizations', { slug: 'from-token', name: 'Made with a token' })).statusCode,
    ).toBe(201);
    const used = (await as(t, admin)('GET', '/api/v1/tokens')).json().tokens[0];
    expect(used.lastUsedAt).not.toBeNull();

    const revoke = await as(t, admin)('DELETE', `/api/v1/tokens/${token.id}`);
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json().token.revokedAt).not.toBeNull();
    const after = await api('GET', '/api/v1/me');
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('MARINA_E_INVALID_TOKEN');
  });

  it('expire after the days asked for', async () => {
    const admin = await adminBrowser(t);
    const { secret } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'ci', expiresInDays: 1 })).json();
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(200);
    t.clock.advanceMinutes(24 * 60 + 1);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).json().error.code).toBe('MARINA_E_INVALID_TOKEN');
  });

  it('refuse malformed and unknown bearer values with a clear error', async () => {
    for (const header of [
      'Bearer',
      'Bearer mrn_short',
      `Bearer mrn_${'a'.repeat(43)}`,
      'Basic YWRtaW46YWRtaW4=',
      'Bearer a b',
    ]) {
      const res = await t.app.inject({ url: '/api/v1/me', headers: { authorization: header } });
      expect(res.statusCode, header).toBe(401);
      expect(res.json().error.code).toBe('MARINA_E_INVALID_TOKEN');
    }
  });

  it('belong to their user: nobody else can list or revoke them', async () => {
    const admin = await adminBrowser(t);
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    const member = await memberBrowser(t, admin, 'acme', 'm@acme.test', 'owner');
    const { token } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'admin token' })).json();
    expect((await as(t, member)('GET', '/api/v1/tokens')).json().tokens).toEqual([]);
    const steal = await as(t, member)('DELETE', `/api/v1/tokens/${token.id}`);
    expect(steal.statusCode).toBe(404);
    const still = (await as(t, admin)('GET', '/api/v1/tokens')).json().tokens[0];
    expect(still.revokedAt).toBeNull();
    expect(await countRows(t.db, 'api_tokens')).toBe(1);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  countRows,
  createTestApp,
  memberBrowser,
  type TestApp,
  withToken,
} from '../../../test/helpers/app.js';

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

describe('API token scopes', () => {
  async function twoOrganizations() {
    const admin = await adminBrowser(t);
    const projects: Record<string, string> = {};
    for (const slug of ['acme', 'globex']) {
      expect((await as(t, admin)('POST', '/api/v1/organizations', { slug, name: slug.toUpperCase() })).statusCode).toBe(
        201,
      );
      const project = await as(t, admin)('POST', '/api/v1/projects', {
        organization: slug,
        name: 'erp',
        odooVersion: '17.0',
      });
      expect(project.statusCode).toBe(201);
      projects[slug] = project.json().project.id;
    }
    const acme = await t.db
      .selectFrom('organizations')
      .select('id')
      .where('slug', '=', 'acme')
      .executeTakeFirstOrThrow();
    // The admin is also an owner of ACME: an organization token acts with the member's role there.
    await t.db
      .insertInto('memberships')
      .values({ organization_id: acme.id, user_id: admin.userId, role: 'owner' })
      .execute();
    return { admin, acmeId: acme.id, projects };
  }

  it('a read-only token reads but cannot write', async () => {
    const admin = await adminBrowser(t);
    const created = await as(t, admin)('POST', '/api/v1/tokens', { name: 'reader', scope: 'read' });
    expect(created.statusCode).toBe(201);
    expect(created.json().token).toMatchObject({ scope: 'read', organization: null });
    const api = withToken(t, created.json().secret);
    expect((await api('GET', '/api/v1/organizations')).statusCode).toBe(200);
    const write = await api('POST', '/api/v1/organizations', { slug: 'nope', name: 'Nope' });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.code).toBe('MARINA_E_TOKEN_SCOPE');
    expect(write.json().error.message).toMatch(/read-only/);
    expect(await countRows(t.db, 'organizations')).toBe(0);
    expect((await api('DELETE', `/api/v1/tokens/${created.json().token.id}`)).statusCode).toBe(403);
  });

  it('an organization token reaches that organization only, and no platform endpoint', async () => {
    const { admin, acmeId, projects } = await twoOrganizations();
    const created = await as(t, admin)('POST', '/api/v1/tokens', { name: 'acme ci', organizationId: acmeId });
    expect(created.statusCode).toBe(201);
    expect(created.json().token).toMatchObject({ scope: 'write', organization: { id: acmeId, slug: 'acme' } });
    const api = withToken(t, created.json().secret);
    expect((await api('GET', `/api/v1/projects/${projects.acme}`)).statusCode).toBe(200);
    const other = await api('GET', `/api/v1/projects/${projects.globex}`);
    expect(other.statusCode).toBe(404);
    expect((await api('GET', '/api/v1/projects')).json().projects.map((p: { id: string }) => p.id)).toEqual([
      projects.acme,
    ]);
    expect(
      (await api('GET', '/api/v1/organizations')).json().organizations.map((o: { slug: string }) => o.slug),
    ).toEqual(['acme']);
    expect((await api('GET', '/api/v1/organizations/globex')).statusCode).toBe(404);
    const audit = (await api('GET', '/api/v1/audit')).json().events as { organizationId: string | null }[];
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((e) => e.organizationId === acmeId)).toBe(true);
    const platform = await api('POST', '/api/v1/organizations', { slug: 'mine', name: 'Mine' });
    expect(platform.statusCode).toBe(403);
    expect((await api('GET', '/api/v1/hosts')).statusCode).toBe(403);
    // It cannot mint itself a wider token either.
    expect((await api('POST', '/api/v1/tokens', { name: 'wider' })).statusCode).toBe(403);
    // The same user's unrestricted session still sees both.
    expect((await as(t, admin)('GET', `/api/v1/projects/${projects.globex}`)).statusCode).toBe(200);
  });

  it('refuses an organization the user is not a member of, and a bad expiry', async () => {
    const { admin } = await twoOrganizations();
    const globex = await t.db
      .selectFrom('organizations')
      .select('id')
      .where('slug', '=', 'globex')
      .executeTakeFirstOrThrow();
    const res = await as(t, admin)('POST', '/api/v1/tokens', { name: 'globex', organizationId: globex.id });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.field).toBe('organizationId');
    const past = await as(t, admin)('POST', '/api/v1/tokens', {
      name: 'past',
      expiresAt: new Date(t.clock.now().getTime() - 60_000).toISOString(),
    });
    expect(past.statusCode).toBe(400);
    expect(past.json().error.details.field).toBe('expiresAt');
    expect(await countRows(t.db, 'api_tokens')).toBe(0);
  });

  it('an expired token is refused', async () => {
    const admin = await adminBrowser(t);
    const expiresAt = new Date(t.clock.now().getTime() + 60 * 60_000).toISOString();
    const created = await as(t, admin)('POST', '/api/v1/tokens', { name: 'short', expiresAt });
    expect(created.json().token.expiresAt).toBe(expiresAt);
    const api = withToken(t, created.json().secret);
    expect((await api('GET', '/api/v1/me')).statusCode).toBe(200);
    t.clock.advanceMinutes(61);
    const after = await api('GET', '/api/v1/me');
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('MARINA_E_INVALID_TOKEN');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  countRows,
  createTestApp,
  memberBrowser,
  type TestApp,
  withToken,
} from '../../../test/helpers/app.js';

let t: TestApp;
let admin: Browser;
beforeEach(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
  for (const [slug, name] of [
    ['acme', 'ACME Corp'],
    ['globex', 'Globex'],
  ]) {
    expect((await as(t, admin)('POST', '/api/v1/organizations', { slug, name })).statusCode).toBe(201);
  }
});
afterEach(() => t.close());

describe('organizations and members', () => {
  it('are created by platform admins only', async () => {
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const res = await as(t, owner)('POST', '/api/v1/organizations', { slug: 'mine', name: 'Mine' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('MARINA_E_FORBIDDEN');
    const clash = await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'Another' });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error.details.field).toBe('slug');
  });

  it('lets owners and admins manage members, with only owners touching owners', async () => {
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const orgAdmin = await memberBrowser(t, owner, 'acme', 'admin@acme.test', 'admin');
    const member = await memberBrowser(t, orgAdmin, 'acme', 'member@acme.test', 'member');

    const byMember = await as(t, member)('POST', '/api/v1/organizations/acme/members', {
      email: 'x@acme.test',
      role: 'member',
    });
    expect(byMember.statusCode).toBe(403);
    const ownerByAdmin = await as(t, orgAdmin)('POST', '/api/v1/organizations/acme/members', {
      email: 'boss@acme.test',
      role: 'owner',
    });
    expect(ownerByAdmin.statusCode).toBe(403);
    const dup = await as(t, orgAdmin)('POST', '/api/v1/organizations/acme/members', {
      email: 'MEMBER@acme.test',
      role: 'member',
    });
    expect(dup.statusCode).toBe(409);

    const members = (await as(t, member)('GET', '/api/v1/organizations/acme/members')).json().members;
    expect(members.map((m: { email: string; role: string }) => `${m.email}:${m.role}`).sort()).toEqual([
      'admin@acme.test:admin',
      'member@acme.test:viewer',
      'owner@acme.test:owner',
    ]);

    const promote = await as(t, orgAdmin)('PATCH', `/api/v1/organizations/acme/members/${member.userId}`, {
      role: 'admin',
    });
    expect(promote.json().member.role).toBe('admin');
    const demoteOwner = await as(t, orgAdmin)('PATCH', `/api/v1/organizations/acme/members/${owner.userId}`, {
      role: 'member',
    });
    expect(demoteOwner.statusCode).toBe(403);
    const lastOwner = await as(t, owner)('DELETE', `/api/v1/organizations/acme/members/${owner.userId}`);
    expect(lastOwner.statusCode).toBe(409);
    expect((await as(t, owner)('DELETE', `/api/v1/organizations/acme/members/${member.userId}`)).statusCode).toBe(204);
    expect((await as(t, member)('GET', '/api/v1/organizations/acme')).statusCode).toBe(404);
  });
});

describe('isolation between organizations', () => {
  it('answers 404, not 403, for anything of another organization, and leaks nothing in lists', async () => {
    const acmeOwner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const globexOwner = await memberBrowser(t, admin, 'globex', 'owner@globex.test', 'owner');
    const globex = (await as(t, admin)('GET', '/api/v1/organizations/globex')).json().organization;
    const { secret } = (await as(t, acmeOwner)('POST', '/api/v1/tokens', { name: 'acme ci' })).json();

    for (const call of [as(t, acmeOwner), withToken(t, secret)]) {
      for (const id of ['globex', globex.id]) {
        for (const [method, url, body] of [
          ['GET', `/api/v1/organizations/${id}`, undefined],
          ['GET', `/api/v1/organizations/${id}/members`, undefined],
          ['POST', `/api/v1/organizations/${id}/members`, { email: 'spy@acme.test', role: 'owner' }],
          ['PATCH', `/api/v1/organizations/${id}/members/${globexOwner.userId}`, { role: 'member' }],
          ['DELETE', `/api/v1/organizations/${id}/members/${globexOwner.userId}`, undefined],
          ['GET', `/api/v1/audit?organization=${id}`, undefined],
        ] as const) {
          const res = await call(method, url, body);
          expect(res.statusCode, `${method} ${url}`).toBe(404);
          expect(res.json().error.code).toBe('MARINA_E_NOT_FOUND');
          expect(res.body).not.toContain('globex.test');
        }
      }
      // A slug that does not exist answers exactly like one that belongs to someone else.
      const unknown = await call('GET', '/api/v1/organizations/no-such-org');
      const foreign = await call('GET', '/api/v1/organizations/globex');
      expect(foreign.json()).toEqual(unknown.json());

      const list = await call('GET', '/api/v1/organizations');
      expect(list.json().organizations.map((o: { slug: string }) => o.slug)).toEqual(['acme']);
      expect(list.body).not.toContain('Globex');
      const audit = await call('GET', '/api/v1/audit?limit=200');
      expect(audit.body).not.toContain('globex');
      const me = await call('GET', '/api/v1/me');
      expect(me.body).not.toContain('globex');
    }
    expect(await countRows(t.db, 'memberships')).toBe(2);
  });

  it('shows platform admins every organization', async () => {
    const list = (await as(t, admin)('GET', '/api/v1/organizations')).json().organizations;
    expect(list.map((o: { slug: string }) => o.slug).sort()).toEqual(['acme', 'globex']);
    expect(list.every((o: { role: string | null }) => o.role === null)).toBe(true);
  });
});

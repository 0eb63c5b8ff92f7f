import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBrowser, as, createTestApp, memberBrowser, signIn, type TestApp } from '../../../test/helpers/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const actions = async () =>
  (
    await t.db
      .selectFrom('audit_events')
      .select(['action', 'actor_label', 'target_label', 'ip'])
      .orderBy('id')
      .execute()
  ).map((e) => `${e.action} by ${e.actor_label} on ${e.target_label}`);

describe('audit trail', () => {
  it('records every mutation with actor, organization, target and IP', async () => {
    const link = await t.services.setup.issueLink('http://marina.test');
    const setup = await t.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { token: link?.split('#')[1], email: 'root@example.com', password: 'correct horse battery staple' },
      remoteAddress: '198.51.100.9',
    });
    expect(setup.statusCode).toBe(201);
    const root = await signIn(t.app, 'root@example.com');
    const call = as(t, root);
    await call('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    const m = await memberBrowser(t, root, 'acme', 'm@acme.test', 'member');
    await call('PATCH', `/api/v1/organizations/acme/members/${m.userId}`, { role: 'admin' });
    await call('DELETE', `/api/v1/organizations/acme/members/${m.userId}`);
    const { token } = (await call('POST', '/api/v1/tokens', { name: 'ci' })).json();
    await call('DELETE', `/api/v1/tokens/${token.id}`);
    await call('POST', '/api/v1/me/password', {
      currentPassword: 'correct horse battery staple',
      newPassword: 'another long passphrase',
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'root@example.com', password: 'wrong password!' },
    });
    await call('POST', '/api/v1/auth/logout');

    expect(await actions()).toEqual([
      'user.create_admin by setup on root@example.com',
      'session.login by root@example.com on root@example.com',
      'session.login by root@example.com on root@example.com',
      'organization.create by root@example.com on acme',
      'invitation.create by root@example.com on m@acme.test',
      'invitation.link by test on m@acme.test',
      'user.create by m@acme.test on m@acme.test',
      'invitation.accept by m@acme.test on m@acme.test',
      // Accepting with the link signs in; the test helper then signs in again.
      'session.login by m@acme.test on m@acme.test',
      'session.login by m@acme.test on m@acme.test',
      'member.update by root@example.com on m@acme.test',
      'member.remove by root@example.com on m@acme.test',
      'token.create by root@example.com on ci',
      'token.revoke by root@example.com on ci',
      'user.change_password by root@example.com on root@example.com',
      'user.login_failed by root@example.com on root@example.com',
      'session.logout by root@example.com on root@example.com',
    ]);
    const first = await t.db.selectFrom('audit_events').selectAll().orderBy('id').executeTakeFirstOrThrow();
    expect(first.ip).toBe('198.51.100.9');
    const orgEvent = await t.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'invitation.create')
      .executeTakeFirstOrThrow();
    expect(orgEvent.organization_id).not.toBeNull();
    expect(orgEvent.details).toMatchObject({ role: 'viewer', organization: 'acme', replaced: false });
    // Passwords and token secrets never reach the trail.
    const all = JSON.stringify(await t.db.selectFrom('audit_events').selectAll().execute());
    expect(all).not.toContain('correct horse');
    expect(all).not.toContain('another long passphrase');
  });

  it('is append-only in the database itself', async () => {
    await adminBrowser(t);
    await expect(sql`update audit_events set action = 'x'`.execute(t.db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_events`.execute(t.db)).rejects.toThrow(/append-only/);
    await expect(sql`truncate audit_events`.execute(t.db)).rejects.toThrow(/append-only/);
  });

  it('filters by category, actor, target and time, and pages with a cursor', async () => {
    const admin = await adminBrowser(t);
    const call = as(t, admin);
    const start = t.clock.now().getTime();
    for (let i = 0; i < 7; i++) {
      await call('POST', '/api/v1/organizations', { slug: `org-${i}`, name: `Org ${i}` });
      t.clock.advanceMinutes(10);
    }
    const byCategory = (await call('GET', '/api/v1/audit?category=organization')).json();
    expect(byCategory.events).toHaveLength(7);
    expect(byCategory.events[0].target.label).toBe('org-6');

    const page1 = (await call('GET', '/api/v1/audit?category=organization&limit=3')).json();
    const page2 = (await call('GET', `/api/v1/audit?category=organization&limit=3&cursor=${page1.nextCursor}`)).json();
    const page3 = (await call('GET', `/api/v1/audit?category=organization&limit=3&cursor=${page2.nextCursor}`)).json();
    const slugs = [...page1.events, ...page2.events, ...page3.events].map(
      (e: { target: { label: string } }) => e.target.label,
    );
    expect(slugs).toEqual(['org-6', 'org-5', 'org-4', 'org-3', 'org-2', 'org-1', 'org-0']);
    expect(page3.nextCursor).toBeNull();

    expect((await call('GET', '/api/v1/audit?target=org-3')).json().events).toHaveLength(1);
    expect((await call('GET', '/api/v1/audit?actor=admin@example.com&category=session')).json().events).toHaveLength(1);
    expect((await call('GET', `/api/v1/audit?actor=${admin.userId}&category=organization`)).json().events).toHaveLength(
      7,
    );
    // org-i was made i × 10 minutes after the start: this window holds org-2, org-3 and org-4.
    const from = new Date(start + 15 * 60_000).toISOString();
    const to = new Date(start + 45 * 60_000).toISOString();
    const window = (await call('GET', `/api/v1/audit?category=organization&from=${from}&to=${to}`)).json().events;
    expect(window.map((e: { target: { label: string } }) => e.target.label)).toEqual(['org-4', 'org-3', 'org-2']);
    const reversed = await call('GET', `/api/v1/audit?from=${to}&to=${from}`);
    expect(reversed.statusCode).toBe(400);
    expect((await call('GET', '/api/v1/audit/categories')).json().categories).toEqual([
      'organization',
      'session',
      'user',
    ]);
  });

  it('shows members only their own actions, and org admins their organization', async () => {
    const admin = await adminBrowser(t);
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const member = await memberBrowser(t, owner, 'acme', 'member@acme.test', 'member');
    const seenByMember = (await as(t, member)('GET', '/api/v1/audit?limit=200')).json().events;
    expect(seenByMember.every((e: { actor: { label: string } }) => e.actor.label === 'member@acme.test')).toBe(true);
    const seenByOwner = (await as(t, owner)('GET', '/api/v1/audit?limit=200')).json().events;
    expect(seenByOwner.map((e: { action: string }) => e.action)).toContain('organization.create');
    expect(seenByOwner.map((e: { action: string }) => e.action)).not.toContain('user.create_admin');
  });
});

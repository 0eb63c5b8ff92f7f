import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  countRows,
  createTestApp,
  memberBrowser,
  STRONG_PASSWORD,
  signIn,
  type TestApp,
  withToken,
} from '../../../test/helpers/app.js';
import {
  type CapturedMessage,
  decodeQuotedPrintable,
  type SmtpCapture,
  startSmtpCapture,
} from '../../../test/helpers/smtp-capture.js';
import { sha256 } from '../../platform/secrets/secrets.js';
import { hashPassword } from './passwords.js';

const ATTACKER_PASSWORD = 'the attacker chose this one';
const VICTIM_PASSWORD = 'she keeps this one to herself';

let t: TestApp;
let admin: Browser;
let smtp: SmtpCapture | null = null;

beforeEach(async () => {
  t = await createTestApp({ MARINA_PUBLIC_URL: 'http://marina.test' });
  admin = await adminBrowser(t);
  for (const [slug, name] of [
    ['acme', 'ACME Corp'],
    ['globex', 'Globex'],
  ]) {
    expect((await as(t, admin)('POST', '/api/v1/organizations', { slug, name })).statusCode).toBe(201);
  }
});
afterEach(async () => {
  await smtp?.stop();
  smtp = null;
  await t.close();
});

async function withSmtp(): Promise<SmtpCapture> {
  smtp = await startSmtpCapture();
  const put = await as(t, admin)('PUT', '/api/v1/settings/smtp', {
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
  });
  expect(put.statusCode).toBe(200);
  return smtp;
}

/** The one-time secret in a mailed invitation. */
function tokenIn(message: CapturedMessage): string {
  const match = /\/invite#([A-Za-z0-9_-]{43})/.exec(decodeQuotedPrintable(message.body));
  if (!match?.[1]) throw new Error(`no invitation link in the message: ${message.body}`);
  return match[1];
}

const accept = (payload: Record<string, unknown>) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/invite', payload });

const memberEmails = async (who: Browser, org: string) =>
  ((await as(t, who)('GET', `/api/v1/organizations/${org}/members`)).json().members as { email: string }[]).map(
    (m) => m.email,
  );

describe('invitations across organizations', () => {
  it('keep an organization admin from setting, learning or using the password of an account of another organization', async () => {
    const mail = await withSmtp();
    const attacker = await memberBrowser(t, admin, 'acme', 'attacker@acme.test', 'owner');
    // The victim already has an account, with her own password, in another organization.
    await memberBrowser(t, admin, 'globex', 'victim@x.test', 'owner');
    const victim = await signIn(t.app, 'victim@x.test');
    const changed = await as(t, victim)('POST', '/api/v1/me/password', {
      currentPassword: STRONG_PASSWORD,
      newPassword: VICTIM_PASSWORD,
    });
    expect(changed.statusCode, changed.body).toBe(204);
    mail.messages.length = 0;

    const withPassword = await as(t, attacker)('POST', '/api/v1/organizations/acme/members', {
      email: 'victim@x.test',
      role: 'admin',
      password: ATTACKER_PASSWORD,
    });
    expect(withPassword.statusCode).toBe(400);

    const invited = await as(t, attacker)('POST', '/api/v1/organizations/acme/members', {
      email: 'Victim@X.test',
      role: 'admin',
    });
    expect(invited.statusCode).toBe(201);
    expect(invited.json()).toMatchObject({ status: 'invited', invitation: { email: 'victim@x.test', role: 'admin' } });
    expect(invited.body).not.toMatch(/invite#|token|inviteUrl/i);
    const invitationId = invited.json().invitation.id;

    // Nothing the attacker can read carries the link.
    const pending = await as(t, attacker)('GET', '/api/v1/organizations/acme/invitations');
    expect(pending.statusCode).toBe(200);
    expect(pending.json().invitations).toEqual([expect.objectContaining({ id: invitationId, mailed: true })]);
    expect(pending.body).not.toMatch(/invite#/);
    const link = await as(t, attacker)('POST', `/api/v1/invitations/${invitationId}/link`);
    expect(link.statusCode).toBe(403);

    // No membership until the victim accepts; no way in with the attacker's password.
    expect(await memberEmails(attacker, 'acme')).not.toContain('victim@x.test');
    expect((await as(t, victim)('GET', '/api/v1/organizations/acme')).statusCode).toBe(404);
    await expect(signIn(t.app, 'victim@x.test', ATTACKER_PASSWORD)).rejects.toThrow(/401/);

    // The invitation reaches the victim's mailbox, not the inviter.
    const message = await mail.waitForMessage((m) => m.to.includes('victim@x.test'));
    expect(message.to).toEqual(['victim@x.test']);
    expect(decodeQuotedPrintable(message.body)).toContain('ACME Corp');
    const token = tokenIn(message);
    const preview = await accept({ token, password: ATTACKER_PASSWORD });
    expect(preview.statusCode).toBe(401);
    expect(await memberEmails(attacker, 'acme')).not.toContain('victim@x.test');

    const accepted = await accept({ token, password: VICTIM_PASSWORD });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json().organization).toMatchObject({ slug: 'acme', role: 'admin' });
    expect(await memberEmails(attacker, 'acme')).toContain('victim@x.test');
    expect((await as(t, victim)('GET', '/api/v1/organizations/acme')).json().organization.role).toBe('admin');
    // The victim's password is still hers alone.
    await expect(signIn(t.app, 'victim@x.test', ATTACKER_PASSWORD)).rejects.toThrow(/401/);
    expect((await accept({ token, password: VICTIM_PASSWORD })).statusCode).toBe(404);
  });

  it('create a new account only when the invitee accepts and chooses a password', async () => {
    const mail = await withSmtp();
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const users = await countRows(t.db, 'users');
    const invited = await as(t, owner)('POST', '/api/v1/organizations/acme/members', {
      email: 'new@x.test',
      role: 'member',
    });
    expect(invited.statusCode).toBe(201);
    expect(await countRows(t.db, 'users')).toBe(users);
    await expect(signIn(t.app, 'new@x.test', STRONG_PASSWORD)).rejects.toThrow();

    const token = tokenIn(await mail.waitForMessage((m) => m.to.includes('new@x.test')));
    const seen = await t.app.inject({ method: 'POST', url: '/api/v1/auth/invite/lookup', payload: { token } });
    expect(seen.json()).toMatchObject({
      email: 'new@x.test',
      organization: { name: 'ACME Corp' },
      accountExists: false,
    });
    const weak = await accept({ token, password: 'password' });
    expect(weak.json().error.code).toBe('MARINA_E_WEAK_PASSWORD');
    expect(await countRows(t.db, 'users')).toBe(users);
    expect((await accept({ token, password: VICTIM_PASSWORD, name: 'Newt' })).statusCode).toBe(200);
    expect(await countRows(t.db, 'users')).toBe(users + 1);
    const newcomer = await signIn(t.app, 'new@x.test', VICTIM_PASSWORD);
    expect((await as(t, newcomer)('GET', '/api/v1/me')).json().organizations).toEqual([
      expect.objectContaining({ slug: 'acme', role: 'viewer' }),
    ]);
  });

  it('without SMTP, are still created, and only a platform admin can see a link', async () => {
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const invited = await as(t, owner)('POST', '/api/v1/organizations/acme/members', {
      email: 'new@x.test',
      role: 'member',
    });
    expect(invited.statusCode).toBe(201);
    expect(invited.json()).toMatchObject({ status: 'invited', invitation: { mailed: false } });
    expect(invited.body).not.toMatch(/invite#/);
    const id = invited.json().invitation.id;
    expect((await as(t, owner)('POST', `/api/v1/invitations/${id}/link`)).statusCode).toBe(403);

    const link = await as(t, admin)('POST', `/api/v1/invitations/${id}/link`);
    expect(link.statusCode).toBe(200);
    const url = String(link.json().url);
    expect(url).toMatch(/^http:\/\/marina\.test\/invite#[A-Za-z0-9_-]{43}$/);
    const audit = await t.db
      .selectFrom('audit_events')
      .select('actor_label')
      .where('action', '=', 'invitation.link')
      .where('target_label', '=', 'new@x.test')
      .execute();
    expect(audit).toEqual([{ actor_label: 'admin@example.com' }]);
    expect((await accept({ token: url.split('#')[1], password: VICTIM_PASSWORD })).statusCode).toBe(200);
    expect(await memberEmails(owner, 'acme')).toContain('new@x.test');
  });

  it('sign the invitee in when they accept with the link, new account or existing one', async () => {
    for (const [email, existing] of [
      ['fresh@x.test', false],
      ['known@x.test', true],
    ] as const) {
      if (existing) await memberBrowser(t, admin, 'globex', email, 'viewer');
      const invited = await as(t, admin)('POST', '/api/v1/organizations/acme/members', { email, role: 'developer' });
      expect(invited.statusCode, invited.body).toBe(201);
      const link = await as(t, admin)('POST', `/api/v1/invitations/${invited.json().invitation.id}/link`);
      const accepted = await accept({ token: String(link.json().url).split('#')[1], password: STRONG_PASSWORD });
      expect(accepted.statusCode, accepted.body).toBe(200);
      const body = accepted.json();
      expect(body).toMatchObject({ user: { email }, organization: { slug: 'acme', role: 'developer' } });
      expect(body.csrfToken).toEqual(expect.any(String));
      expect(Date.parse(body.expiresAt)).toBeGreaterThan(t.clock.now().getTime());
      const cookie = accepted.cookies.find((c) => c.name === 'marina_session');
      expect(cookie?.httpOnly).toBe(true);
      // The cookie it set is a working session: the organization is right there.
      const browser = { cookie: `marina_session=${cookie?.value}`, csrf: body.csrfToken, userId: body.user.id };
      const me = (await as(t, browser)('GET', '/api/v1/me')).json();
      expect(me.authMethod).toBe('session');
      expect(me.csrfToken).toBe(body.csrfToken);
      expect(me.organizations).toContainEqual(expect.objectContaining({ slug: 'acme', role: 'developer' }));
      const logins = await t.db
        .selectFrom('audit_events')
        .select('id')
        .where('action', '=', 'session.login')
        .where('actor_label', '=', email)
        .execute();
      expect(logins.length).toBeGreaterThanOrEqual(1);
    }
    // A wrong password signs nobody in.
    const again = await as(t, admin)('POST', '/api/v1/organizations/globex/members', {
      email: 'fresh@x.test',
      role: 'viewer',
    });
    const link = await as(t, admin)('POST', `/api/v1/invitations/${again.json().invitation.id}/link`);
    const wrong = await accept({ token: String(link.json().url).split('#')[1], password: 'not the right one at all' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.cookies.find((c) => c.name === 'marina_session')).toBeUndefined();
  });

  it('let an existing account accept while signed in as itself, and nobody else', async () => {
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const bob = await memberBrowser(t, admin, 'globex', 'bob@x.test', 'member');
    const eve = await memberBrowser(t, admin, 'globex', 'eve@x.test', 'member');
    const invited = await as(t, owner)('POST', '/api/v1/organizations/acme/members', {
      email: 'bob@x.test',
      role: 'member',
    });
    const id = invited.json().invitation.id;

    expect((await as(t, eve)('GET', '/api/v1/me/invitations')).json().invitations).toEqual([]);
    expect((await as(t, eve)('POST', `/api/v1/me/invitations/${id}/accept`)).statusCode).toBe(404);
    const mine = (await as(t, bob)('GET', '/api/v1/me/invitations')).json().invitations;
    expect(mine).toEqual([expect.objectContaining({ id, organization: expect.objectContaining({ slug: 'acme' }) })]);
    expect(await memberEmails(owner, 'acme')).not.toContain('bob@x.test');
    const joined = await as(t, bob)('POST', `/api/v1/me/invitations/${id}/accept`);
    expect(joined.statusCode).toBe(200);
    expect(await memberEmails(owner, 'acme')).toContain('bob@x.test');
    expect((await as(t, eve)('GET', '/api/v1/organizations/acme')).statusCode).toBe(404);
  });

  it('keep an account whose password someone else chose from joining anything by a click', async () => {
    // As the old code allowed: acme's admin created victim@x.test with a password of their choice.
    const mail = await withSmtp();
    const acme = await t.db
      .selectFrom('organizations')
      .select('id')
      .where('slug', '=', 'acme')
      .executeTakeFirstOrThrow();
    const victimId = (
      await t.db
        .insertInto('users')
        .values({ email: 'victim@x.test', name: 'victim', password_hash: await hashPassword(ATTACKER_PASSWORD) })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    await t.db
      .insertInto('memberships')
      .values({ organization_id: acme.id, user_id: victimId, role: 'viewer' })
      .execute();
    const globexOwner = await memberBrowser(t, admin, 'globex', 'owner@globex.test', 'owner');
    const invited = await as(t, globexOwner)('POST', '/api/v1/organizations/globex/members', {
      email: 'victim@x.test',
      role: 'admin',
    });
    const id = invited.json().invitation.id;

    const attacker = await signIn(t.app, 'victim@x.test', ATTACKER_PASSWORD);
    expect((await as(t, attacker)('GET', '/api/v1/me/invitations')).json().invitations).toHaveLength(1);
    const click = await as(t, attacker)('POST', `/api/v1/me/invitations/${id}/accept`);
    expect(click.statusCode).toBe(403);
    expect(click.json().error.message).toContain('invitation email');
    expect((await as(t, attacker)('GET', '/api/v1/organizations/globex')).statusCode).toBe(404);
    expect(await memberEmails(globexOwner, 'globex')).toEqual(['owner@globex.test']);

    // The link went to the real mailbox; without the account's password it does not join either.
    const token = tokenIn(await mail.waitForMessage((m) => m.to.includes('victim@x.test')));
    expect((await accept({ token, password: VICTIM_PASSWORD })).statusCode).toBe(401);
    expect(await memberEmails(globexOwner, 'globex')).toEqual(['owner@globex.test']);
  });

  it('can be revoked; removing a member revokes theirs and ends their access at once', async () => {
    const mail = await withSmtp();
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const invited = await as(t, owner)('POST', '/api/v1/organizations/acme/members', {
      email: 'new@x.test',
      role: 'member',
    });
    const token = tokenIn(await mail.waitForMessage((m) => m.to.includes('new@x.test')));
    const revoked = await as(t, owner)(
      'DELETE',
      `/api/v1/organizations/acme/invitations/${invited.json().invitation.id}`,
    );
    expect(revoked.statusCode).toBe(204);
    expect((await accept({ token, password: VICTIM_PASSWORD })).statusCode).toBe(404);
    expect((await as(t, owner)('GET', '/api/v1/organizations/acme/invitations')).json().invitations).toEqual([]);

    const member = await memberBrowser(t, owner, 'acme', 'm@acme.test', 'member');
    const { secret } = (await as(t, member)('POST', '/api/v1/tokens', { name: 'ci' })).json();
    const acmeId = (await as(t, owner)('GET', '/api/v1/organizations/acme')).json().organization.id;
    const scoped = await as(t, member)('POST', '/api/v1/tokens', { name: 'acme only', organizationId: acmeId });
    expect(scoped.statusCode, scoped.body).toBe(201);
    // An invitation that raced the membership (sent while the first one was being accepted).
    const org = await t.db
      .selectFrom('organizations')
      .select('id')
      .where('slug', '=', 'acme')
      .executeTakeFirstOrThrow();
    await t.db
      .insertInto('invitations')
      .values({
        organization_id: org.id,
        email: 'm@acme.test',
        role: 'owner',
        token_hash: sha256('a raced invitation token'),
        invited_by_label: 'owner@acme.test',
        expires_at: new Date(t.clock.now().getTime() + 86_400_000),
      })
      .execute();
    expect((await as(t, member)('GET', '/api/v1/organizations/acme')).statusCode).toBe(200);
    expect((await withToken(t, secret)('GET', '/api/v1/organizations/acme')).statusCode).toBe(200);

    expect((await as(t, owner)('DELETE', `/api/v1/organizations/acme/members/${member.userId}`)).statusCode).toBe(204);
    expect((await as(t, member)('GET', '/api/v1/organizations/acme')).statusCode).toBe(404);
    expect((await withToken(t, secret)('GET', '/api/v1/organizations/acme')).statusCode).toBe(404);
    expect((await as(t, member)('GET', '/api/v1/me/invitations')).json().invitations).toEqual([]);
    expect((await accept({ token: 'a raced invitation token', password: STRONG_PASSWORD })).statusCode).toBe(404);
    expect((await as(t, member)('GET', '/api/v1/organizations')).json().organizations).toEqual([]);
    // A token made for that organization alone has nothing left to reach: it is gone.
    expect((await withToken(t, scoped.json().secret)('GET', '/api/v1/me')).statusCode).toBe(401);
    const left = await t.db.selectFrom('api_tokens').select('name').where('user_id', '=', member.userId).execute();
    expect(left).toEqual([{ name: 'ci' }]);
  });
});

describe('disabled accounts', () => {
  it('stop sessions and tokens at once, refuse sign-in clearly, and come back when enabled; both audited', async () => {
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const member = await memberBrowser(t, owner, 'acme', 'm@acme.test', 'member');
    const { secret } = (await as(t, member)('POST', '/api/v1/tokens', { name: 'ci' })).json();
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(200);

    expect((await as(t, owner)('POST', `/api/v1/users/${member.userId}/disable`)).statusCode).toBe(403);
    expect((await as(t, owner)('GET', '/api/v1/users')).statusCode).toBe(403);
    const self = await as(t, admin)('POST', `/api/v1/users/${admin.userId}/disable`);
    expect(self.statusCode).toBe(409);

    const disabled = await as(t, admin)('POST', `/api/v1/users/${member.userId}/disable`);
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json().user).toMatchObject({ email: 'm@acme.test', disabled: true });
    expect((await as(t, member)('GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(401);
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'm@acme.test', password: STRONG_PASSWORD },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('MARINA_E_ACCOUNT_DISABLED');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'm@acme.test', password: 'not the password at all' },
    });
    expect(wrong.json().error.code).toBe('MARINA_E_INVALID_CREDENTIALS');
    const listed = (await as(t, admin)('GET', '/api/v1/users')).json().users;
    expect(listed).toEqual(expect.arrayContaining([expect.objectContaining({ email: 'm@acme.test', disabled: true })]));
    const members = (await as(t, owner)('GET', '/api/v1/organizations/acme/members')).json().members;
    expect(members).toEqual(
      expect.arrayContaining([expect.objectContaining({ email: 'm@acme.test', disabled: true })]),
    );

    expect((await as(t, admin)('POST', `/api/v1/users/${member.userId}/enable`)).statusCode).toBe(200);
    const again = await signIn(t.app, 'm@acme.test');
    expect((await as(t, again)('GET', '/api/v1/organizations/acme')).statusCode).toBe(200);
    // Tokens and sessions of before stay ended: enabling does not bring back what disabling stopped.
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await as(t, member)('GET', '/api/v1/me')).statusCode).toBe(401);
    const actions = (
      await t.db.selectFrom('audit_events').select('action').where('category', '=', 'user').orderBy('id').execute()
    ).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['user.disable', 'user.enable']));
  });

  it('are refused the moment the flag is set, even by a session or token created just before', async () => {
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const { secret } = (await as(t, owner)('POST', '/api/v1/tokens', { name: 'ci' })).json();
    // The flag alone, without the clean-up of sessions and tokens that disabling also does.
    await t.db.updateTable('users').set({ disabled_at: t.clock.now() }).where('id', '=', owner.userId).execute();
    expect((await as(t, owner)('GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await withToken(t, secret)('GET', '/api/v1/me')).statusCode).toBe(401);
  });
});

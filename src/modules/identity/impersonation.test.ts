import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
  withToken,
} from '../../../test/helpers/app.js';

let t: TestApp;
let admin: Browser;
let acmeOwner: Browser;

beforeEach(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
  for (const slug of ['acme', 'globex']) {
    expect((await as(t, admin)('POST', '/api/v1/organizations', { slug, name: slug.toUpperCase() })).statusCode).toBe(
      201,
    );
    expect(
      (await as(t, admin)('POST', '/api/v1/projects', { organization: slug, name: 'erp', odooVersion: '17.0' }))
        .statusCode,
    ).toBe(201);
  }
  acmeOwner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
});
afterEach(async () => {
  await t.close();
});

/** The browser the answer signed in (its session cookie and CSRF token). */
function browserOf(answer: LightMyRequestResponse, userId: string): Browser {
  const cookie = answer.cookies.find((c) => c.name === 'marina_session');
  if (!cookie) throw new Error(`no session cookie: ${answer.statusCode} ${answer.body}`);
  return { cookie: `marina_session=${cookie.value}`, csrf: answer.json().csrfToken, userId };
}

async function openAsAcme(): Promise<Browser> {
  const opened = await as(t, admin)('POST', '/api/v1/organizations/acme/impersonate', { reason: 'ticket 4711' });
  expect(opened.statusCode, opened.body).toBe(201);
  expect(opened.json().organization.slug).toBe('acme');
  return browserOf(opened, admin.userId);
}

describe('opening an organization as its members see it', () => {
  it('sees that organization as its owner, nothing else, and changes nothing', async () => {
    const view = await openAsAcme();
    const call = as(t, view);
    const me = (await call('GET', '/api/v1/me')).json();
    expect(me.impersonating).toEqual(expect.any(String));
    expect(me.organizations).toEqual([expect.objectContaining({ slug: 'acme', role: 'owner' })]);
    expect(me.organizations[0].permissions).toContain('team.manage');

    // Reads of acme work, as its owner's would.
    expect((await call('GET', '/api/v1/organizations/acme/members')).statusCode).toBe(200);
    expect((await call('GET', '/api/v1/organizations/acme/invitations')).statusCode).toBe(200);
    const projects = (await call('GET', '/api/v1/projects')).json().projects as { organizationId: string }[];
    expect(new Set(projects.map((p) => p.organizationId))).toEqual(new Set([me.organizations[0].id]));
    expect((await call('GET', '/api/v1/organizations')).json().organizations).toHaveLength(1);

    // Other organizations do not exist for it, and nor does the platform.
    expect((await call('GET', '/api/v1/organizations/globex')).statusCode).toBe(404);
    expect((await call('GET', '/api/v1/organizations/globex/members')).statusCode).toBe(404);
    expect([403]).toContain((await call('GET', '/api/v1/users')).statusCode);

    // Every write is refused, however harmless or powerful.
    for (const [method, url, body] of [
      ['POST', '/api/v1/organizations/acme/members', { email: 'x@acme.test', role: 'viewer' }],
      ['POST', '/api/v1/projects', { organization: 'acme', name: 'new', odooVersion: '17.0' }],
      ['PATCH', `/api/v1/organizations/acme/members/${acmeOwner.userId}`, { role: 'viewer' }],
      ['DELETE', `/api/v1/organizations/acme/members/${acmeOwner.userId}`, undefined],
      ['POST', '/api/v1/tokens', { name: 'keep me' }],
      ['POST', '/api/v1/organizations/globex/impersonate', { reason: 'chain' }],
    ] as const) {
      const answer = await call(method, url, body);
      expect(answer.statusCode, `${method} ${url}`).toBe(403);
      expect(answer.json().error.message).toMatch(/read-only/);
    }
    expect(await t.db.selectFrom('invitations').select('id').where('email', '=', 'x@acme.test').execute()).toEqual([]);
  });

  it("is in the organization's own trail, with the reason, and ends back in the admin's own session", async () => {
    const view = await openAsAcme();
    const ended = await as(t, view)('POST', '/api/v1/auth/impersonation/end');
    expect(ended.statusCode, ended.body).toBe(200);
    const own = browserOf(ended, admin.userId);
    expect((await as(t, own)('GET', '/api/v1/users')).statusCode).toBe(200);
    expect((await as(t, own)('GET', '/api/v1/me')).json().impersonating).toBeNull();
    // The view's session is over.
    expect((await as(t, view)('GET', '/api/v1/organizations/acme')).statusCode).toBe(401);

    const trail = (await as(t, acmeOwner)('GET', '/api/v1/audit?category=organization')).json().events as {
      action: string;
      actor: { label: string };
      details: Record<string, unknown>;
    }[];
    const opened = trail.find((e) => e.action === 'organization.impersonate');
    expect(opened?.actor.label).toBe('admin@example.com');
    expect(opened?.details.reason).toBe('ticket 4711');
    expect(trail.some((e) => e.action === 'organization.impersonate_end')).toBe(true);
    // Globex's owner sees none of it.
    const globexOwner = await memberBrowser(t, admin, 'globex', 'owner@globex.test', 'owner');
    const theirs = (await as(t, globexOwner)('GET', '/api/v1/audit?category=organization')).json().events as {
      action: string;
    }[];
    expect(theirs.filter((e) => e.action.startsWith('organization.impersonate'))).toEqual([]);
  });

  it('lasts 60 minutes, and is for platform admins in a browser session only', async () => {
    const view = await openAsAcme();
    t.clock.advanceMinutes(61);
    expect((await as(t, view)('GET', '/api/v1/organizations/acme')).statusCode).toBe(401);

    expect((await as(t, acmeOwner)('POST', '/api/v1/organizations/acme/impersonate', { reason: 'x' })).statusCode).toBe(
      403,
    );
    const { secret } = (await as(t, admin)('POST', '/api/v1/tokens', { name: 'ops' })).json();
    const byToken = await withToken(t, secret)('POST', '/api/v1/organizations/acme/impersonate', { reason: 'x' });
    expect(byToken.statusCode).toBe(403);
    expect(byToken.json().error.code).toBe('MARINA_E_TOKEN_SCOPE');
    expect((await as(t, acmeOwner)('POST', '/api/v1/auth/impersonation/end')).statusCode).toBe(409);
  });
});

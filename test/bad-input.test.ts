import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  countRows,
  createTestApp,
  memberBrowser,
  type TestApp,
} from './helpers/app.js';

let t: TestApp;
let admin: Browser;
let memberId: string;
beforeAll(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
  await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
  memberId = (await memberBrowser(t, admin, 'acme', 'm@acme.test', 'member')).userId;
});
afterAll(() => t.close());

const snapshot = async () =>
  Promise.all(
    (['users', 'organizations', 'memberships', 'invitations', 'api_tokens', 'audit_events'] as const).map((table) =>
      countRows(t.db, table),
    ),
  );

const long = (n: number) => 'x'.repeat(n);
const badSlugs = [
  'Acme',
  'a/b',
  '..',
  '../etc',
  'a b',
  'a\u0000b',
  'a\nb',
  '-acme',
  'acme-',
  'ac$(id)',
  long(41),
  '',
  'ácme',
  'a;rm -rf /',
];
const badEmails = [
  'plainaddress',
  'a@b',
  '@example.com',
  'a b@example.com',
  'a@exa mple.com',
  `${long(250)}@example.com`,
  'a@example.com\n',
  'a\u0007@example.com',
  '<a@example.com>',
];

type Case = [name: string, method: 'POST' | 'PATCH' | 'DELETE' | 'GET', url: string, body: unknown, code: string];

const cases = (): Case[] => [
  ...badSlugs.map(
    (slug): Case => [
      `slug ${JSON.stringify(slug)}`,
      'POST',
      '/api/v1/organizations',
      { slug, name: 'Fine' },
      'MARINA_E_VALIDATION',
    ],
  ),
  ['over-long name', 'POST', '/api/v1/organizations', { slug: 'fine', name: long(101) }, 'MARINA_E_VALIDATION'],
  [
    'name with control characters',
    'POST',
    '/api/v1/organizations',
    { slug: 'fine', name: 'bad\u0000name' },
    'MARINA_E_VALIDATION',
  ],
  ['blank name', 'POST', '/api/v1/organizations', { slug: 'fine', name: '' }, 'MARINA_E_VALIDATION'],
  [
    'unknown field',
    'POST',
    '/api/v1/organizations',
    { slug: 'fine', name: 'Fine', owner: 'me' },
    'MARINA_E_VALIDATION',
  ],
  ['array body', 'POST', '/api/v1/organizations', ['fine'], 'MARINA_E_VALIDATION'],
  ['numbers for strings', 'POST', '/api/v1/organizations', { slug: 12, name: 34 }, 'MARINA_E_VALIDATION'],
  ['null body', 'POST', '/api/v1/organizations', null, 'MARINA_E_VALIDATION'],
  ...badEmails.map(
    (email): Case => [
      `email ${JSON.stringify(email)}`,
      'POST',
      '/api/v1/organizations/acme/members',
      { email, role: 'member' },
      'MARINA_E_VALIDATION',
    ],
  ),
  [
    'unknown role',
    'POST',
    '/api/v1/organizations/acme/members',
    { email: 'n@acme.test', role: 'superuser' },
    'MARINA_E_VALIDATION',
  ],
  [
    'role in capitals',
    'POST',
    '/api/v1/organizations/acme/members',
    { email: 'n@acme.test', role: 'Owner' },
    'MARINA_E_VALIDATION',
  ],
  [
    'a password for an invited member (organization admins never set passwords)',
    'POST',
    '/api/v1/organizations/acme/members',
    { email: 'n@acme.test', role: 'member', password: 'correct horse battery staple' },
    'MARINA_E_VALIDATION',
  ],
  ['bad role change', 'PATCH', `/api/v1/organizations/acme/members/MEMBER`, { role: 'god' }, 'MARINA_E_VALIDATION'],
  [
    'member id not a uuid',
    'DELETE',
    '/api/v1/organizations/acme/members/..%2F..%2Fetc',
    undefined,
    'MARINA_E_VALIDATION',
  ],
  ['organization id with a slash', 'GET', '/api/v1/organizations/acme%2F..', undefined, 'MARINA_E_VALIDATION'],
  ['token name blank', 'POST', '/api/v1/tokens', { name: '' }, 'MARINA_E_VALIDATION'],
  ['token name too long', 'POST', '/api/v1/tokens', { name: long(61) }, 'MARINA_E_VALIDATION'],
  ['token expiry zero', 'POST', '/api/v1/tokens', { name: 'ok', expiresInDays: 0 }, 'MARINA_E_VALIDATION'],
  ['token expiry fraction', 'POST', '/api/v1/tokens', { name: 'ok', expiresInDays: 1.5 }, 'MARINA_E_VALIDATION'],
  ['token expiry as text', 'POST', '/api/v1/tokens', { name: 'ok', expiresInDays: 'soon' }, 'MARINA_E_VALIDATION'],
  ['token id not a uuid', 'DELETE', '/api/v1/tokens/123', undefined, 'MARINA_E_VALIDATION'],
  ['audit limit too high', 'GET', '/api/v1/audit?limit=100000', undefined, 'MARINA_E_VALIDATION'],
  ['audit limit negative', 'GET', '/api/v1/audit?limit=-1', undefined, 'MARINA_E_VALIDATION'],
  ['audit date not a date', 'GET', '/api/v1/audit?from=yesterday', undefined, 'MARINA_E_VALIDATION'],
  ['audit cursor injection', 'GET', '/api/v1/audit?cursor=1%20or%201=1', undefined, 'MARINA_E_VALIDATION'],
  ['audit over-long filter', 'GET', `/api/v1/audit?target=${long(300)}`, undefined, 'MARINA_E_VALIDATION'],
  ['audit unknown parameter', 'GET', '/api/v1/audit?sort=asc', undefined, 'MARINA_E_VALIDATION'],
  [
    'password change with weak password',
    'POST',
    '/api/v1/me/password',
    { currentPassword: 'correct horse battery staple', newPassword: 'short' },
    'MARINA_E_WEAK_PASSWORD',
  ],
  ['login email missing', 'POST', '/api/v1/auth/login', { password: 'x' }, 'MARINA_E_VALIDATION'],
  [
    'login with an object for a password',
    'POST',
    '/api/v1/auth/login',
    { email: 'a@example.com', password: { $ne: '' } },
    'MARINA_E_VALIDATION',
  ],
  [
    'setup when done',
    'POST',
    '/api/v1/setup',
    { token: 'x', email: 'a@example.com', password: 'correct horse battery staple' },
    'MARINA_E_SETUP_DONE',
  ],
];

describe('bad input', () => {
  it('gets a clear 4xx with a stable code and changes nothing', async () => {
    const before = await snapshot();
    for (const [name, method, rawUrl, body, code] of cases()) {
      const url = rawUrl.replace('MEMBER', memberId);
      const res = await as(t, admin)(method, url, body);
      expect(res.statusCode, name).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, name).toBeLessThan(500);
      const error = res.json().error;
      expect(error.code, `${name}: ${res.body}`).toBe(code);
      expect(error.message.length, name).toBeGreaterThan(10);
      expect(error.details, name).toBeTypeOf('object');
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers malformed JSON, wrong content types and huge bodies without a 500', async () => {
    const headers = { cookie: admin.cookie, 'x-marina-csrf': admin.csrf };
    const raw = (payload: string, contentType = 'application/json') =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/organizations',
        headers: { ...headers, 'content-type': contentType },
        payload,
      });
    expect((await raw('{"slug": "acme",')).json().error.code).toBe('MARINA_E_BAD_JSON');
    expect((await raw('')).json().error.code).toBe('MARINA_E_BAD_JSON');
    expect((await raw('slug=acme', 'text/plain')).json().error.code).toBe('MARINA_E_UNSUPPORTED_MEDIA_TYPE');
    const huge = await raw(JSON.stringify({ slug: 'big', name: long(2 * 1024 * 1024) }));
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('MARINA_E_PAYLOAD_TOO_LARGE');
    const unknownRoute = await t.app.inject({ url: '/api/v1/nothing-here', headers });
    expect(unknownRoute.statusCode).toBe(404);
    expect(unknownRoute.json().error.code).toBe('MARINA_E_NOT_FOUND');
  });

  it('never answers 500, whatever is thrown at it', async () => {
    const values: unknown[] = [
      '',
      ' ',
      '\u0000',
      '../../etc/passwd',
      "'; drop table users; --",
      '$(reboot)',
      long(5000),
      -1,
      1e308,
      true,
      null,
      [],
      {},
      { $gt: '' },
      '😀'.repeat(50),
    ];
    const targets: [string, string, (v: unknown) => unknown][] = [
      ['POST', '/api/v1/organizations', (v) => ({ slug: v, name: v })],
      ['POST', '/api/v1/organizations/acme/members', (v) => ({ email: v, role: v })],
      ['POST', '/api/v1/tokens', (v) => ({ name: v, expiresInDays: v })],
      ['POST', '/api/v1/auth/login', (v) => ({ email: v, password: v })],
      ['POST', '/api/v1/auth/invite', (v) => ({ token: v, password: v })],
      ['POST', '/api/v1/auth/invite', (v) => ({ token: v, password: v, name: v })],
      ['POST', '/api/v1/auth/invite/lookup', (v) => ({ token: v })],
      ['POST', '/api/v1/me/password', (v) => ({ currentPassword: v, newPassword: v })],
    ];
    const before = await snapshot();
    for (const [method, url, body] of targets) {
      for (const value of values) {
        const res = await as(t, admin)(method as 'POST', url, body(value));
        expect(res.statusCode, `${url} ${JSON.stringify(value)?.slice(0, 40)}: ${res.body.slice(0, 200)}`).toBeLessThan(
          500,
        );
      }
    }
    for (const value of values) {
      const q = encodeURIComponent(String(value));
      for (const url of [
        `/api/v1/audit?actor=${q}`,
        `/api/v1/audit?category=${q}`,
        `/api/v1/organizations/${q}`,
        `/api/v1/organizations/${q}/members`,
      ]) {
        const res = await as(t, admin)('GET', url);
        expect(res.statusCode, `${url}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
      }
    }
    const after = await snapshot();
    // Failed logins are audited on purpose; nothing else may change.
    expect(after.slice(0, 5)).toEqual(before.slice(0, 5));
  });
});

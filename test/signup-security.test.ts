import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../src/platform/secrets/secrets.js';
import { as, STRONG_PASSWORD, type TestApp } from './helpers/app.js';
import { type SignupWorld, startSignupWorld } from './signup-support.js';

/**
 * The sign-up security review's findings, on real parts (PostgreSQL, the outbox to a capturing
 * SMTP server, Docker for the first instance): nobody but the address's owner chooses its
 * password, limits count IPv6 clients per /64 and email domains by their last two labels, and a
 * link mailed before sign-up closed (or its domain was refused) makes nothing.
 */

const BASE = 'apps.signup-sec.test';
const PUBLIC_URL = 'https://marina.signup-sec.test';
let world: SignupWorld;
let t: TestApp;
let ipCounter = 1;
const nextIp = () => `10.7.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

const settings = {
  enabled: true,
  refusedDomains: [] as string[],
  reservedNames: [] as string[],
  perAddressPerDay: 50,
  perDomainPerDay: 500,
  perIpPerHour: 500,
};

const setSettings = async (change: Partial<typeof settings> = {}) => {
  const answer = await as(t, world.admin)('PUT', '/api/v1/settings/signup', { ...settings, ...change });
  if (answer.statusCode !== 200) throw new Error(`settings: ${answer.body}`);
};

const code = (r: LightMyRequestResponse) => r.json<{ error?: { code: string } }>().error?.code;
const signup = (email: string, subdomain: string, ip = nextIp(), extra: Record<string, unknown> = {}) =>
  world.post('/api/v1/signup', world.form(email, subdomain, extra), ip);
const rowOf = (email: string) =>
  t.db.selectFrom('signups').selectAll().where('email', '=', email).orderBy('created_at', 'desc').executeTakeFirst();
const userOf = (email: string) => t.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
const login = (email: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password }, remoteAddress: nextIp() });

beforeAll(async () => {
  world = await startSignupWorld({ baseDomain: BASE, publicUrl: PUBLIC_URL });
  t = world.t;
  await world.setSmtp();
  await setSettings();
}, 300_000);

afterAll(async () => {
  await world?.close();
});

describe('finding 1: the password is chosen by whoever holds the mailed link', () => {
  it("an attacker's request for the victim's address cannot set the victim's password", async () => {
    const victim = 'victim@target.test';
    const attackerPassword = 'attacker chose this passphrase';
    expect((await signup(victim, 'victim-co')).statusCode).toBe(202);
    // The request no longer carries a password at all.
    const withPassword = await signup(victim, 'victim-co', nextIp(), { password: attackerPassword });
    expect(withPassword.statusCode, withPassword.body).toBe(400);
    expect(code(withPassword)).toBe('MARINA_E_VALIDATION');
    // The attacker replaces the victim's pending request (same address, same subdomain).
    expect((await signup(victim, 'victim-co')).statusCode).toBe(202);
    await world.t.services.notices.drain();
    const token = await world.tokenFor(victim);

    // No password, or a weak one: nothing made, the link still works.
    const none = await world.verify(token, null);
    expect(none.statusCode, none.body).toBe(400);
    const weak = await world.verify(token, 'short');
    expect(weak.statusCode, weak.body).toBe(400);
    expect(code(weak)).toBe('MARINA_E_WEAK_PASSWORD');
    const sameAsEmail = await world.verify(token, victim);
    expect(sameAsEmail.statusCode, sameAsEmail.body).toBe(400);
    const mailed = await t.db
      .selectFrom('signups')
      .select('status')
      .where('token_hash', '=', sha256(token))
      .executeTakeFirstOrThrow();
    expect(mailed.status).toBe('pending');
    expect(await userOf(victim)).toBeUndefined();

    // The victim verifies with the password they choose now.
    const verified = await world.verify(token, STRONG_PASSWORD);
    expect(verified.statusCode, verified.body).toBe(200);
    expect((await login(victim, attackerPassword)).statusCode).toBe(401);
    const signedIn = await login(victim, STRONG_PASSWORD);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const stored = await t.db
      .selectFrom('users')
      .select('password_hash')
      .where('email', '=', victim)
      .executeTakeFirstOrThrow();
    expect(stored.password_hash?.startsWith('$argon2id$')).toBe(true);
    // The sign-up row never held a copy of it.
    const row = await t.db
      .selectFrom('signups')
      .select('password_hash')
      .where('token_hash', '=', sha256(token))
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toBeNull();
    // Spent: the same link with another password makes nothing more.
    expect(code(await world.verify(token, attackerPassword))).toBe('MARINA_E_INVALID_TOKEN');
  }, 120_000);
});

describe('finding 4: limits cannot be spread over addresses of one client or one domain', () => {
  it('counts IPv6 clients per /64, IPv4-mapped addresses as IPv4, and email domains by their last two labels', async () => {
    await setSettings({ perIpPerHour: 2, perDomainPerDay: 2 });
    try {
      expect((await signup('a@v6-a.test', 'v6-a', '2001:db8:1:2::1')).statusCode).toBe(202);
      expect((await signup('b@v6-b.test', 'v6-b', '2001:db8:1:2:ffff::9')).statusCode).toBe(202);
      const sameNet = await signup('c@v6-c.test', 'v6-c', '2001:0db8:0001:0002:abcd:1:2:3');
      expect(sameNet.statusCode, sameNet.body).toBe(429);
      expect(sameNet.json<{ error: { message: string } }>().error.message).toContain('from your address');
      // The next /64 is another client.
      expect((await signup('c@v6-c.test', 'v6-c', '2001:db8:1:3::1')).statusCode).toBe(202);

      expect((await signup('a@v4-a.test', 'v4-a', '10.66.0.1')).statusCode).toBe(202);
      expect((await signup('b@v4-b.test', 'v4-b', '::ffff:10.66.0.1')).statusCode).toBe(202);
      expect((await signup('c@v4-c.test', 'v4-c', '10.66.0.1')).statusCode).toBe(429);
      // IPv4 is per address.
      expect((await signup('c@v4-c.test', 'v4-c', '10.66.0.2')).statusCode).toBe(202);

      expect((await signup('x@a1.grouped.test', 'grp-one')).statusCode).toBe(202);
      expect((await signup('x@a2.grouped.test', 'grp-two')).statusCode).toBe(202);
      const sibling = await signup('x@a3.grouped.test', 'grp-three');
      expect(sibling.statusCode, sibling.body).toBe(429);
      expect(sibling.json<{ error: { message: string } }>().error.message).toContain('email domain');
      expect((await signup('x@grouped.test', 'grp-three')).statusCode).toBe(429);
      expect((await signup('x@other-grouped.test', 'grp-three')).statusCode).toBe(202);
    } finally {
      await setSettings();
    }
  });
});

describe('finding 5: a link mailed earlier obeys the settings of the moment it is used', () => {
  it('sign-up closed after the mail: verify refused (404), nothing made; reopened, the link works', async () => {
    const email = 'late@closing.test';
    expect((await signup(email, 'closing-co')).statusCode).toBe(202);
    const token = await world.tokenFor(email);
    await setSettings({ enabled: false });
    try {
      const refused = await world.verify(token);
      expect(refused.statusCode, refused.body).toBe(404);
      expect(code(refused)).toBe('MARINA_E_SIGNUP_CLOSED');
      expect((await rowOf(email))?.status).toBe('pending');
      expect(await userOf(email)).toBeUndefined();
    } finally {
      await setSettings();
    }
  });

  it('a domain refused after the mail: verify refused, nothing made', async () => {
    const email = 'late@sub.refused-later.test';
    expect((await signup(email, 'refused-co')).statusCode).toBe(202);
    const token = await world.tokenFor(email);
    await setSettings({ refusedDomains: ['refused-later.test'] });
    try {
      const refused = await world.verify(token);
      expect(refused.statusCode, refused.body).toBe(400);
      expect(code(refused)).toBe('MARINA_E_SIGNUP_REFUSED');
      expect((await rowOf(email))?.status).toBe('pending');
      expect(await userOf(email)).toBeUndefined();
    } finally {
      await setSettings();
    }
  });
});

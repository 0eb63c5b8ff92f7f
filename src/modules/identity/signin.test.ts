import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBrowser, createTestApp, STRONG_PASSWORD, type TestApp } from '../../../test/helpers/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const login = (app: TestApp, email: string, password: string, ip: string, headers: Record<string, string> = {}) =>
  app.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
    remoteAddress: ip,
    headers,
  });

const A = '203.0.113.7';
const B = '198.51.100.20';

describe('sign-in backoff', () => {
  it('never locks the account: fifty wrong passwords from one address leave another address free', async () => {
    await adminBrowser(t, 'victim@example.com');
    let slowed = 0;
    for (let i = 0; i < 50; i++) {
      const res = await login(t, 'victim@example.com', `wrong password ${i}`, A);
      if (res.statusCode === 429) slowed++;
      else expect(res.json().error.code).toBe('MARINA_E_INVALID_CREDENTIALS');
    }
    expect(slowed).toBe(45);
    // The right password from an address that did not fail works at once.
    expect((await login(t, 'victim@example.com', STRONG_PASSWORD, B)).statusCode).toBe(200);
    // Failures spread over many addresses (five each below the threshold) lock nothing either.
    for (let i = 0; i < 5; i++) await login(t, 'victim@example.com', `spread ${i}`, `192.0.2.${i + 1}`);
    expect((await login(t, 'victim@example.com', STRONG_PASSWORD, '192.0.2.200')).statusCode).toBe(200);
  });

  it('slows the failing address with 429 and Retry-After, growing, and lets it in again after the wait', async () => {
    await adminBrowser(t, 'victim@example.com');
    for (let i = 0; i < 5; i++) {
      expect((await login(t, 'victim@example.com', `wrong ${i}`, A)).json().error.code).toBe(
        'MARINA_E_INVALID_CREDENTIALS',
      );
    }
    const slowed = await login(t, 'victim@example.com', STRONG_PASSWORD, A);
    expect(slowed.statusCode).toBe(429);
    expect(slowed.json().error.code).toBe('MARINA_E_SIGNIN_SLOWED');
    expect(slowed.json().error.message).toMatch(/wait/i);
    expect(Number(slowed.headers['retry-after'])).toBe(60);
    t.clock.advanceMinutes(0.5);
    expect(Number((await login(t, 'victim@example.com', STRONG_PASSWORD, A)).headers['retry-after'])).toBe(30);
    t.clock.advanceMinutes(0.6);
    // One more failure after the wait doubles the next one.
    expect((await login(t, 'victim@example.com', 'wrong again', A)).json().error.code).toBe(
      'MARINA_E_INVALID_CREDENTIALS',
    );
    expect(Number((await login(t, 'victim@example.com', STRONG_PASSWORD, A)).headers['retry-after'])).toBe(120);
    t.clock.advanceMinutes(2.1);
    expect((await login(t, 'victim@example.com', STRONG_PASSWORD, A)).statusCode).toBe(200);
    // A success clears that address's count for the account.
    expect((await login(t, 'victim@example.com', 'typo', A)).json().error.code).toBe('MARINA_E_INVALID_CREDENTIALS');
    expect((await login(t, 'victim@example.com', STRONG_PASSWORD, A)).statusCode).toBe(200);
  });

  it('answers unknown accounts the same way, so the backoff reveals no accounts', async () => {
    for (let i = 0; i < 5; i++) await login(t, 'nobody@example.com', `guess ${i}`, A);
    const res = await login(t, 'nobody@example.com', 'guess 6', A);
    expect(res.statusCode).toBe(429);
    expect(res.json().error.code).toBe('MARINA_E_SIGNIN_SLOWED');
  });

  it('slows one address trying many accounts, whatever account it tries next', async () => {
    const limited = await createTestApp({ MARINA_LOGIN_IP_MAX_FAILURES: '10' });
    try {
      await adminBrowser(limited, 'real@example.com');
      for (let i = 0; i < 10; i++) {
        expect((await login(limited, `user${i}@example.com`, 'whatever it is', A)).json().error.code).toBe(
          'MARINA_E_INVALID_CREDENTIALS',
        );
      }
      const blocked = await login(limited, 'real@example.com', STRONG_PASSWORD, A);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json().error.code).toBe('MARINA_E_RATE_LIMITED');
      expect(Number(blocked.headers['retry-after'])).toBe(60);
      expect((await login(limited, 'real@example.com', STRONG_PASSWORD, B)).statusCode).toBe(200);
      limited.clock.advanceMinutes(1.1);
      expect((await login(limited, 'real@example.com', STRONG_PASSWORD, A)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('prunes sign-in attempts older than a day', async () => {
    await adminBrowser(t, 'victim@example.com');
    for (let i = 0; i < 3; i++) await login(t, 'victim@example.com', `wrong ${i}`, A);
    const count = async () =>
      Number(
        (
          await t.db
            .selectFrom('login_attempts')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count()).toBe(4);
    t.clock.advanceMinutes(23 * 60);
    await login(t, 'victim@example.com', 'wrong later', B);
    expect(await count()).toBe(5);
    t.clock.advanceMinutes(2 * 60);
    await login(t, 'victim@example.com', STRONG_PASSWORD, B);
    // Only the two attempts of the last day are left.
    expect(await count()).toBe(2);
  });
});

describe('MARINA_TRUST_PROXY', () => {
  const attemptIp = async (app: TestApp) => {
    const row = await app.db
      .selectFrom('login_attempts')
      .select('ip')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    return row.ip;
  };
  const forwarded = { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' };

  it('ignores X-Forwarded-For by default', async () => {
    await login(t, 'x@example.com', 'whatever it is', '10.0.0.2', forwarded);
    expect(await attemptIp(t)).toBe('10.0.0.2');
  });

  it('with a hop count, takes the address that many proxies back', async () => {
    const one = await createTestApp({ MARINA_TRUST_PROXY: '1' });
    try {
      await login(one, 'x@example.com', 'whatever it is', '10.0.0.2', forwarded);
      expect(await attemptIp(one)).toBe('203.0.113.9');
    } finally {
      await one.close();
    }
  });

  it('with a CIDR list, trusts only those proxies', async () => {
    const listed = await createTestApp({ MARINA_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' });
    try {
      await login(listed, 'x@example.com', 'whatever it is', '10.0.0.2', {
        'x-forwarded-for': '198.51.100.1, 10.0.0.3',
      });
      expect(await attemptIp(listed)).toBe('198.51.100.1');
      // A client outside the list cannot choose its address by sending the header itself.
      await login(listed, 'x@example.com', 'whatever it is', '192.0.2.1', forwarded);
      expect(await attemptIp(listed)).toBe('192.0.2.1');
    } finally {
      await listed.close();
    }
  });
});

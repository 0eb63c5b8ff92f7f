import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBrowser, as, createTestApp, STRONG_PASSWORD, signIn, type TestApp } from '../../../test/helpers/app.js';
import { links, type SmtpCapture, startSmtpCapture } from '../../../test/helpers/smtp-capture.js';
import { systemContext } from '../../platform/context.js';

const NEW_PASSWORD = 'a brand new long passphrase';

let t: TestApp;
let smtp: SmtpCapture;

beforeEach(async () => {
  t = await createTestApp({ MARINA_PUBLIC_URL: 'http://marina.test' });
  smtp = await startSmtpCapture();
  await t.services.settings.setSmtp(systemContext('test'), {
    host: '127.0.0.1',
    port: smtp.port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: null,
    password: null,
  });
});
afterEach(async () => {
  await smtp.stop();
  await t.close();
});

const ask = (email: string, ip = '203.0.113.7') =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/password-reset', payload: { email }, remoteAddress: ip });
const complete = (token: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/password-reset/complete', payload: { token, password } });

/** The token of the reset link in the newest mail to `to`. */
async function linkTokenFor(to: string): Promise<string> {
  await t.services.notices.drain();
  const message = await smtp.waitForMessage((m) => m.to.includes(to));
  const url = links(message).find((l) => l.startsWith('http://marina.test/reset#'));
  if (!url) throw new Error(`no reset link in ${message.subject}`);
  return url.split('#')[1] ?? '';
}

const auditActions = async (action: string) =>
  t.db.selectFrom('audit_events').select(['actor_label', 'target_label']).where('action', '=', action).execute();

describe('password reset', () => {
  it('mails a single-use link that sets the password, ends every session and signs in', async () => {
    await adminBrowser(t, 'ada@example.com');
    const before = await signIn(t.app, 'ada@example.com');
    expect((await as(t, before)('GET', '/api/v1/me')).statusCode).toBe(200);

    expect((await ask('Ada@Example.com')).statusCode).toBe(202);
    const token = await linkTokenFor('ada@example.com');
    expect(await auditActions('user.request_reset')).toEqual([
      { actor_label: 'ada@example.com', target_label: 'ada@example.com' },
    ]);

    expect((await complete(token, 'password')).json().error.code).toBe('MARINA_E_WEAK_PASSWORD');
    const done = await complete(token, NEW_PASSWORD);
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().user.email).toBe('ada@example.com');
    const cookie = done.cookies.find((c) => c.name === 'marina_session');
    expect(cookie?.value).toBeTruthy();
    const after = { cookie: `marina_session=${cookie?.value}`, csrf: done.json().csrfToken, userId: '' };
    expect((await as(t, after)('GET', '/api/v1/me')).statusCode).toBe(200);
    // The session that knew the old password is over; the old password is too.
    expect((await as(t, before)('GET', '/api/v1/me')).statusCode).toBe(401);
    await expect(signIn(t.app, 'ada@example.com', STRONG_PASSWORD)).rejects.toThrow(/401/);
    await signIn(t.app, 'ada@example.com', NEW_PASSWORD);
    expect(await auditActions('user.reset_password')).toHaveLength(1);

    // Used once: the same link again does nothing.
    const again = await complete(token, 'yet another long passphrase');
    expect(again.statusCode).toBe(401);
    expect(again.json().error.code).toBe('MARINA_E_INVALID_TOKEN');
    await signIn(t.app, 'ada@example.com', NEW_PASSWORD);
  });

  it('stops working after 60 minutes', async () => {
    await adminBrowser(t, 'ada@example.com');
    await ask('ada@example.com');
    const token = await linkTokenFor('ada@example.com');
    t.clock.advanceMinutes(61);
    expect((await complete(token, NEW_PASSWORD)).json().error.code).toBe('MARINA_E_INVALID_TOKEN');
    await signIn(t.app, 'ada@example.com', STRONG_PASSWORD);
  });

  it('answers the same for unknown and disabled accounts, and mails them nothing', async () => {
    await adminBrowser(t, 'ada@example.com');
    const admin = await signIn(t.app, 'ada@example.com');
    await t.services.users.createPlatformAdmin(systemContext('test'), {
      email: 'gone@example.com',
      password: STRONG_PASSWORD,
    });
    const gone = await t.db.selectFrom('users').select('id').where('email', '=', 'gone@example.com').executeTakeFirst();
    expect((await as(t, admin)('POST', `/api/v1/users/${gone?.id}/disable`)).statusCode).toBe(200);

    const unknown = await ask('nobody@example.com');
    const disabled = await ask('gone@example.com');
    const known = await ask('ada@example.com');
    for (const answer of [unknown, disabled, known]) {
      expect(answer.statusCode).toBe(202);
      expect(answer.body).toBe(known.body);
    }
    await linkTokenFor('ada@example.com');
    await t.services.notices.drain();
    expect(smtp.messages.flatMap((m) => m.to)).toEqual(['ada@example.com']);
    const outbox = await t.db.selectFrom('mail_outbox').select('to').execute();
    expect(outbox).toEqual([{ to: 'ada@example.com' }]);
  });

  it('mails an address at most 3 times an hour and takes at most 20 requests an hour from one client', async () => {
    await adminBrowser(t, 'ada@example.com');
    for (let i = 0; i < 5; i++) expect((await ask('ada@example.com', `198.51.100.${i}`)).statusCode).toBe(202);
    await t.services.notices.drain();
    expect(await t.db.selectFrom('mail_outbox').select('id').execute()).toHaveLength(3);

    for (let i = 0; i < 20; i++) expect((await ask(`n${i}@example.com`, '192.0.2.1')).statusCode).toBe(202);
    const limited = await ask('ada@example.com', '192.0.2.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('MARINA_E_RATE_LIMITED');

    // An hour later both limits have passed.
    t.clock.advanceMinutes(61);
    expect((await ask('ada@example.com', '192.0.2.1')).statusCode).toBe(202);
    await t.services.notices.drain();
    expect(await t.db.selectFrom('mail_outbox').select('id').execute()).toHaveLength(4);
  });

  it('holds the address’s limit when requests come all at once', async () => {
    await adminBrowser(t, 'ada@example.com');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ask('ada@example.com', `198.51.100.${i + 10}`)),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(202));
    expect(await t.db.selectFrom('mail_outbox').select('id').execute()).toHaveLength(3);
  });
});

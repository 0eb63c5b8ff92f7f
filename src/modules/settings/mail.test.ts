import { createServer } from 'node:net';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
} from '../../../test/helpers/app.js';
import { decodeQuotedPrintable, type SmtpCapture, startSmtpCapture } from '../../../test/helpers/smtp-capture.js';
import { MailError, type SmtpSettings, sendMail, verifySmtp } from '../../adapters/mail.js';
import { systemContext } from '../../platform/context.js';
import { NotificationService } from '../../platform/notifications.js';

const SMTP_USER = 'marina-mailer';
const SMTP_PASSWORD = 'Sm7p-pa55word-that-must-never-leak';

let t: TestApp;
let admin: Browser;
const captures: SmtpCapture[] = [];

async function capture(options: Parameters<typeof startSmtpCapture>[0] = {}): Promise<SmtpCapture> {
  const server = await startSmtpCapture(options);
  captures.push(server);
  return server;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

const smtpBody = (port: number, extra: Record<string, unknown> = {}) => ({
  host: '127.0.0.1',
  port,
  security: 'none',
  from: 'Marina Backups <backups@hosting.test>',
  username: SMTP_USER,
  password: SMTP_PASSWORD,
  ...extra,
});

async function auditJson(): Promise<string> {
  return JSON.stringify(await t.db.selectFrom('audit_events').selectAll().execute());
}

beforeEach(async () => {
  t = await createTestApp({ MARINA_TEST_CAPTURE_LOGS: '1' });
  admin = await adminBrowser(t);
});

afterEach(async () => {
  await Promise.all(captures.splice(0).map((c) => c.stop()));
  // Nothing Marina logged during the test may carry the SMTP password.
  expect(t.logs.join('\n')).not.toContain(SMTP_PASSWORD);
  await t.close();
});

describe('SMTP settings', () => {
  it('are set by platform admins, and the password is stored sealed and never shown or audited', async () => {
    const api = as(t, admin);
    expect((await api('GET', '/api/v1/settings/smtp')).json()).toEqual({ smtp: null });

    const put = await api('PUT', '/api/v1/settings/smtp', smtpBody(2525));
    expect(put.statusCode).toBe(200);
    expect(put.body).not.toContain(SMTP_PASSWORD);
    expect(put.json().smtp).toEqual({
      host: '127.0.0.1',
      port: 2525,
      security: 'none',
      username: SMTP_USER,
      from: 'Marina Backups <backups@hosting.test>',
      passwordSet: true,
      updatedBy: 'admin@example.com',
      updatedAt: expect.any(String),
    });

    const get = await api('GET', '/api/v1/settings/smtp');
    expect(get.statusCode).toBe(200);
    expect(get.body).not.toContain(SMTP_PASSWORD);
    expect(get.json().smtp).toMatchObject({ host: '127.0.0.1', passwordSet: true });

    const row = await t.db.selectFrom('settings').selectAll().where('key', '=', 'smtp').executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(SMTP_PASSWORD);
    expect(String(row.value.password)).toMatch(/^v2\./);
    expect((await t.services.settings.getSmtpForSending())?.password).toBe(SMTP_PASSWORD);

    // Leaving the password out keeps it; the audit says whether it changed, never what it is.
    const keep = await api('PUT', '/api/v1/settings/smtp', {
      ...smtpBody(2525),
      password: undefined,
      from: 'a@b.test',
    });
    expect(keep.statusCode).toBe(200);
    expect(keep.json().smtp).toMatchObject({ from: 'a@b.test', passwordSet: true });
    expect((await t.services.settings.getSmtpForSending())?.password).toBe(SMTP_PASSWORD);

    const events = await t.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'settings.update')
      .orderBy('id')
      .execute();
    expect(events.map((e) => e.details.passwordChanged)).toEqual([true, false]);
    expect(events[0]?.actor_label).toBe('admin@example.com');
    expect(await auditJson()).not.toContain(SMTP_PASSWORD);
    expect(await auditJson()).not.toContain(String(row.value.password));

    // A kept password only goes to the server it was typed for.
    const moved = await api('PUT', '/api/v1/settings/smtp', {
      ...smtpBody(2525, { host: 'evil.test' }),
      password: undefined,
    });
    expect(moved.statusCode).toBe(400);
    expect(moved.json().error.details.field).toBe('password');
    const otherPort = await api('PUT', '/api/v1/settings/smtp', { ...smtpBody(2526), password: undefined });
    expect(otherPort.statusCode).toBe(400);
    expect((await api('GET', '/api/v1/settings/smtp')).json().smtp).toMatchObject({ host: '127.0.0.1', port: 2525 });

    // null removes the password, and a username alone is refused.
    expect((await api('PUT', '/api/v1/settings/smtp', smtpBody(2525, { password: null }))).statusCode).toBe(400);
    const cleared = await api('PUT', '/api/v1/settings/smtp', smtpBody(2525, { username: null, password: null }));
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json().smtp).toMatchObject({ username: null, passwordSet: false });
    expect(await t.services.settings.getSmtpForSending()).toMatchObject({ username: null, password: null });

    const removed = await api('DELETE', '/api/v1/settings/smtp');
    expect(removed.statusCode).toBe(204);
    expect((await api('GET', '/api/v1/settings/smtp')).json()).toEqual({ smtp: null });
    const actions = (
      await t.db.selectFrom('audit_events').select('action').where('category', '=', 'settings').execute()
    )
      .map((e) => e.action)
      .sort();
    expect(actions).toEqual(['settings.clear', 'settings.update', 'settings.update', 'settings.update']);
  });

  it('are refused to everyone but platform admins', async () => {
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    await as(t, admin)('PUT', '/api/v1/settings/smtp', smtpBody(2525));
    const owner = await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    const api = as(t, owner);
    for (const [method, url, body] of [
      ['GET', '/api/v1/settings/smtp', undefined],
      ['PUT', '/api/v1/settings/smtp', smtpBody(25, { host: 'mine.test' })],
      ['DELETE', '/api/v1/settings/smtp', undefined],
      ['POST', '/api/v1/settings/smtp/test', { to: 'owner@acme.test' }],
    ] as const) {
      const response = await api(method, url, body);
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(response.json().error.code).toBe('MARINA_E_FORBIDDEN');
      expect(response.body).not.toContain(SMTP_PASSWORD);
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/settings/smtp' })).statusCode).toBe(401);
    expect((await as(t, admin)('GET', '/api/v1/settings/smtp')).json().smtp).toMatchObject({ host: '127.0.0.1' });
  });

  it('refuse bad input with 400 and change nothing', async () => {
    const api = as(t, admin);
    await api('PUT', '/api/v1/settings/smtp', smtpBody(2525));
    const before = (await api('GET', '/api/v1/settings/smtp')).json();
    const bad: [string, Record<string, unknown>][] = [
      ['port 0', smtpBody(0)],
      ['port 65536', smtpBody(65536)],
      ['port as text', smtpBody(2525, { port: '2525' })],
      ['from not an address', smtpBody(2525, { from: 'not an address' })],
      ['from with two addresses', smtpBody(2525, { from: 'a@b.test, c@d.test' })],
      ['from with a broken name', smtpBody(2525, { from: 'Mar"ina <a@b.test>' })],
      ['from with a newline', smtpBody(2525, { from: 'a@b.test\r\nBcc: x@y.test' })],
      ['host with spaces', smtpBody(2525, { host: 'smtp example.com' })],
      ['host with a scheme', smtpBody(2525, { host: 'smtp://mail.test' })],
      ['host with an underscore label', smtpBody(2525, { host: '-bad-.test' })],
      ['unknown security', smtpBody(2525, { security: 'ssl' })],
      ['empty password', smtpBody(2525, { password: '' })],
      ['password with a newline', smtpBody(2525, { password: 'abc\r\ndef' })],
      ['unknown field', smtpBody(2525, { tls: true })],
      ['missing host', { ...smtpBody(2525), host: undefined }],
    ];
    for (const [why, body] of bad) {
      const response = await api('PUT', '/api/v1/settings/smtp', body);
      expect(response.statusCode, why).toBe(400);
      expect(response.json().error.code, why).toBe('MARINA_E_VALIDATION');
    }
    expect((await api('GET', '/api/v1/settings/smtp')).json()).toEqual(before);
    expect(
      await t.db.selectFrom('audit_events').select('id').where('action', '=', 'settings.update').execute(),
    ).toHaveLength(1);

    // The service checks again for callers that do not come through HTTP.
    const system = systemContext('test');
    for (const input of [
      { ...smtpBody(70000) },
      { ...smtpBody(25), host: 'bad host' },
      { ...smtpBody(25), from: 'Name <not-an-address>' },
      { ...smtpBody(25), security: 'SSL' },
      { ...smtpBody(25), username: null, password: 'secret-without-user' },
    ]) {
      await expect(t.services.settings.setSmtp(system, input)).rejects.toMatchObject({ code: 'MARINA_E_VALIDATION' });
    }
    expect((await api('GET', '/api/v1/settings/smtp')).json()).toEqual(before);
  });

  it('normalize the sender and accept IP addresses and host names', async () => {
    const system = systemContext('test');
    const cases: [Record<string, unknown>, string, string][] = [
      [{ host: 'SMTP.Example.COM', from: 'Backups@Hosting.Test' }, 'smtp.example.com', 'backups@hosting.test'],
      [{ host: '::1', from: '"ACME, Inc." <ops@acme.test>' }, '::1', '"ACME, Inc." <ops@acme.test>'],
      [{ host: '10.0.0.5', from: '<ops@acme.test>' }, '10.0.0.5', 'ops@acme.test'],
      [{ host: 'mail', from: 'Marina <ops@acme.test>' }, 'mail', 'Marina <ops@acme.test>'],
    ];
    for (const [input, host, from] of cases) {
      const view = await t.services.settings.setSmtp(system, {
        ...smtpBody(587),
        username: null,
        password: null,
        security: 'starttls',
        ...input,
      });
      expect(view).toMatchObject({ host, from, port: 587, passwordSet: false });
    }
  });
});

describe('the SMTP test endpoint', () => {
  it('delivers through the stored settings with authentication', async () => {
    const server = await capture({ auth: { user: SMTP_USER, password: SMTP_PASSWORD } });
    const api = as(t, admin);
    expect((await api('PUT', '/api/v1/settings/smtp', smtpBody(server.port))).statusCode).toBe(200);

    const response = await api('POST', '/api/v1/settings/smtp/test', { to: 'ops@hosting.test' });
    // The answer says what the server replied, not only that nothing threw (issue #17).
    expect(response.json()).toEqual({
      ok: true,
      to: 'ops@hosting.test',
      server: `127.0.0.1:${server.port}`,
      response: expect.stringMatching(/^250 /),
    });
    const message = await server.waitForMessage((m) => m.to.includes('ops@hosting.test'));
    expect(message).toMatchObject({
      user: SMTP_USER,
      from: 'backups@hosting.test',
      to: ['ops@hosting.test'],
      subject: '[Marina] Test email',
    });
    expect(message.headers.from).toBe('Marina Backups <backups@hosting.test>');
    expect(message.headers['auto-submitted']).toBe('auto-generated');
    expect(message.raw).not.toContain(SMTP_PASSWORD);
    const test = await t.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'settings.test')
      .executeTakeFirstOrThrow();
    expect(test.details).toMatchObject({ to: 'ops@hosting.test', ok: true });
  });

  it('answers precise errors: not configured, wrong password, nobody listening', async () => {
    const api = as(t, admin);
    const none = await api('POST', '/api/v1/settings/smtp/test', { to: 'ops@hosting.test' });
    expect(none.statusCode).toBe(409);
    expect(none.json().error.code).toBe('MARINA_E_SMTP_NOT_CONFIGURED');
    expect((await api('POST', '/api/v1/settings/smtp/test', { to: 'not-an-email' })).statusCode).toBe(400);

    const server = await capture({ auth: { user: SMTP_USER, password: 'the-right-one' } });
    await api('PUT', '/api/v1/settings/smtp', smtpBody(server.port));
    const refused = await api('POST', '/api/v1/settings/smtp/test', { to: 'ops@hosting.test' });
    expect(refused.statusCode).toBe(502);
    expect(refused.json().error).toMatchObject({ code: 'MARINA_E_SMTP_FAILED', details: { reason: 'auth' } });
    expect(refused.json().error.message).toMatch(/refused the username or password/);
    expect(refused.body).not.toContain(SMTP_PASSWORD);
    expect(server.messages).toHaveLength(0);

    const port = await closedPort();
    await api('PUT', '/api/v1/settings/smtp', smtpBody(port));
    const closed = await api('POST', '/api/v1/settings/smtp/test', { to: 'ops@hosting.test' });
    expect(closed.statusCode).toBe(502);
    expect(closed.json().error).toMatchObject({ code: 'MARINA_E_SMTP_FAILED', details: { reason: 'connection' } });
    expect(closed.json().error.message).toContain(`127.0.0.1:${port} refused the connection`);
    expect(await auditJson()).not.toContain(SMTP_PASSWORD);
  });
});

describe('the mail adapter', () => {
  const settings = (port: number, extra: Partial<SmtpSettings> = {}): SmtpSettings => ({
    host: '127.0.0.1',
    port,
    security: 'none',
    username: null,
    password: null,
    from: 'Marina <marina@hosting.test>',
    ...extra,
  });

  it('names TLS problems as such', async () => {
    const plain = await capture();
    // TLS from the first byte against a plain-text server.
    const tls = await verifySmtp(settings(plain.port, { security: 'tls' })).catch((e: unknown) => e);
    expect(tls).toBeInstanceOf(MailError);
    expect((tls as MailError).reason).toBe('tls');
    // STARTTLS required but not offered.
    const missing = await verifySmtp(settings(plain.port, { security: 'starttls' })).catch((e: unknown) => e);
    expect((missing as MailError).reason).toBe('tls');
    // STARTTLS offered with a self-signed certificate: refused, not silently accepted.
    const selfSigned = await capture({ starttls: true });
    const untrusted = await verifySmtp(settings(selfSigned.port, { security: 'starttls' })).catch((e: unknown) => e);
    expect((untrusted as MailError).reason).toBe('tls');
    expect((untrusted as MailError).message).toMatch(/TLS with the SMTP server 127\.0\.0\.1:\d+ failed/);
    await expect(verifySmtp(settings(plain.port))).resolves.toBeUndefined();
  });

  it('never puts the password in its errors', async () => {
    const server = await capture({ auth: { user: SMTP_USER, password: 'other' } });
    const error = await sendMail(settings(server.port, { username: SMTP_USER, password: SMTP_PASSWORD }), {
      to: ['a@b.test'],
      subject: 's',
      text: 't',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailError);
    expect((error as MailError).reason).toBe('auth');
    // Without credentials the server only objects at MAIL FROM (530): still an authentication problem.
    const anonymous = await sendMail(settings(server.port), { to: ['a@b.test'], subject: 's', text: 't' }).catch(
      (e: unknown) => e,
    );
    expect(anonymous).toMatchObject({ reason: 'auth', message: expect.stringContaining('requires authentication') });
    expect(JSON.stringify({ message: (error as MailError).message, ...(error as object) })).not.toContain(
      SMTP_PASSWORD,
    );
  });
});

describe('test emails', () => {
  it('are limited to a few in ten minutes, and the refusal says when to try again', async () => {
    const server = await capture({ auth: { user: SMTP_USER, password: SMTP_PASSWORD } });
    const api = as(t, admin);
    await api('PUT', '/api/v1/settings/smtp', smtpBody(server.port));
    for (let i = 0; i < 5; i++) {
      expect((await api('POST', '/api/v1/settings/smtp/test', { to: `ops${i}@hosting.test` })).statusCode).toBe(200);
    }
    const refused = await api('POST', '/api/v1/settings/smtp/test', { to: 'ops@hosting.test' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('MARINA_E_RATE_LIMITED');
    expect(refused.json().error.message).toMatch(/At most 5 test emails in 10 minutes/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(server.messages).toHaveLength(5);
    t.clock.advanceMinutes(11);
    expect((await api('POST', '/api/v1/settings/smtp/test', { to: 'ops@hosting.test' })).statusCode).toBe(200);
  });
});

describe('backup failure notices', () => {
  async function organization(): Promise<string> {
    const created = await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME Corp' });
    await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
    await memberBrowser(t, admin, 'acme', 'admin@acme.test', 'admin');
    await memberBrowser(t, admin, 'acme', 'member@acme.test', 'member');
    // Someone else's organization: its people must not hear about acme.
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'other', name: 'Other' });
    await memberBrowser(t, admin, 'other', 'owner@other.test', 'owner');
    return created.json().organization.id;
  }

  const event = (organizationId: string) => ({
    organizationId,
    instanceLabel: 'acme/erp/main',
    instanceId: null,
    trigger: 'schedule',
    what: 'backup' as const,
    error: 'pg_dump: error: connection to server failed: FATAL: too many connections',
    at: new Date('2026-11-21T03:00:00Z'),
    url: 'http://marina.test/instances/1234/backups',
  });

  it("mail the organization's owners and admins, once, with the subject, the error and the link", async () => {
    const orgId = await organization();
    const server = await capture({ auth: { user: SMTP_USER, password: SMTP_PASSWORD } });
    await as(t, admin)('PUT', '/api/v1/settings/smtp', smtpBody(server.port));

    const result = await t.services.notifications.backupFailed(event(orgId));
    expect(result).toEqual({ sent: true, to: ['admin@acme.test', 'owner@acme.test'] });
    const message = await server.waitForMessage();
    // One message for everyone: give a second one the time to arrive, and there must be none.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.messages).toHaveLength(1);
    expect(message.to.sort()).toEqual(['admin@acme.test', 'owner@acme.test']);
    expect(message.subject).toBe('[Marina] Scheduled backup failed: acme/erp/main');
    const text = decodeQuotedPrintable(message.body);
    expect(text).toContain('FATAL: too many connections');
    expect(text).toContain('http://marina.test/instances/1234/backups');
    expect(text).toContain('2026-11-21 03:00:00 UTC');
    expect(text).toContain('ACME Corp');
    expect(message.raw).not.toContain('member@acme.test');
    expect(message.raw).not.toContain('owner@other.test');

    const upload = await t.services.notifications.backupFailed({
      ...event(orgId),
      what: 'upload',
      destinationName: 'Backblaze EU',
    });
    expect(upload.sent).toBe(true);
    const second = await server.waitForMessage((m) => m.subject.includes('Offsite'));
    expect(second.subject).toBe('[Marina] Offsite copy to Backblaze EU failed: acme/erp/main');
  });

  it('send nothing without SMTP, and do not throw when the server is down', async () => {
    const orgId = await organization();
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const notifications = new NotificationService({ db: t.db, settings: t.services.settings, logger });

    expect(await notifications.backupFailed(event(orgId))).toEqual({ sent: false, reason: 'smtp-not-configured' });
    expect(lines.join('')).toMatch(/"level":30.*SMTP is not configured/);

    await as(t, admin)('PUT', '/api/v1/settings/smtp', smtpBody(await closedPort()));
    const down = await notifications.backupFailed(event(orgId));
    expect(down).toMatchObject({ sent: false, reason: 'send-failed', error: expect.stringContaining('refused') });
    expect(lines.join('')).toMatch(/"level":40.*could not be sent/);
    expect(lines.join('')).not.toContain(SMTP_PASSWORD);
    // The real service behaves the same.
    await expect(t.services.notifications.backupFailed(event(orgId))).resolves.toMatchObject({ sent: false });
  });

  it('send nothing when the organization has no owner or admin', async () => {
    const created = await as(t, admin)('POST', '/api/v1/organizations', { slug: 'empty', name: 'Empty' });
    const server = await capture({ auth: { user: SMTP_USER, password: SMTP_PASSWORD } });
    await as(t, admin)('PUT', '/api/v1/settings/smtp', smtpBody(server.port));
    const result = await t.services.notifications.backupFailed(event(created.json().organization.id));
    expect(result).toEqual({ sent: false, reason: 'no-recipients' });
    expect(server.messages).toHaveLength(0);
  });
});

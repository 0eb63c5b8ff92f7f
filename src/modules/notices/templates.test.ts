import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  type TestApp,
} from '../../../test/helpers/app.js';
import { decodeQuotedPrintable, links, startSmtpCapture, textPart } from '../../../test/helpers/smtp-capture.js';
import { systemContext } from '../../platform/context.js';
import { noticeKeys } from '../../platform/notices.js';

let t: TestApp;
let admin: Browser;

beforeEach(async () => {
  t = await createTestApp();
  admin = await adminBrowser(t);
});

afterEach(async () => {
  await t.close();
});

const edited = {
  subject: '[Marina] Nouveau mot de passe pour {{ email }}',
  html: '<p>Choisissez-le : <a href="{{ url }}">{{ url }}</a></p>',
  text: 'Choisissez-le : {{ url }}\n',
};

describe('the mail templates API', () => {
  it('lists every key with its variables, and edits, reads and resets a language', async () => {
    const api = as(t, admin);
    const list = await api('GET', '/api/v1/mail-templates');
    expect(list.statusCode).toBe(200);
    const templates = list.json().templates as Array<{
      key: string;
      variables: { name: string }[];
      overriddenLocales: string[];
    }>;
    expect(templates.map((entry) => entry.key)).toEqual([...noticeKeys]);
    expect(templates.find((entry) => entry.key === 'password_reset')?.variables.map((v) => v.name)).toEqual([
      'email',
      'url',
      'expires_at',
    ]);

    // Not edited in French: the English default is what a French reader gets.
    const before = await api('GET', '/api/v1/mail-templates/password_reset/fr');
    expect(before.json().template).toMatchObject({
      locale: 'fr',
      overridden: false,
      subject: '[Marina] Reset your password',
    });

    const saved = await api('PUT', '/api/v1/mail-templates/password_reset/fr', edited);
    expect(saved.statusCode).toBe(200);
    expect(saved.json().template).toMatchObject({ ...edited, locale: 'fr', overridden: true });
    expect((await api('GET', '/api/v1/mail-templates')).json().templates[4]).toMatchObject({
      key: 'password_reset',
      overriddenLocales: ['fr'],
    });
    expect(await t.services.mailTemplates.resolve('password_reset', 'fr')).toMatchObject({ subject: edited.subject });
    expect(await t.services.mailTemplates.resolve('password_reset', 'de')).toMatchObject({ locale: 'en' });

    expect((await api('DELETE', '/api/v1/mail-templates/password_reset/fr')).statusCode).toBe(204);
    expect((await api('GET', '/api/v1/mail-templates/password_reset/fr')).json().template.overridden).toBe(false);
    expect((await api('DELETE', '/api/v1/mail-templates/password_reset/fr')).statusCode).toBe(404);

    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'target_id'])
      .where('category', '=', 'mail_template')
      .orderBy('id')
      .execute();
    expect(audit).toEqual([
      { action: 'mail_template.update', target_id: 'password_reset/fr' },
      { action: 'mail_template.reset', target_id: 'password_reset/fr' },
    ]);
  });

  it('refuses a template that does not render with the sample values, or has no text part', async () => {
    const api = as(t, admin);
    const unknown = await api('PUT', '/api/v1/mail-templates/password_reset/en', {
      ...edited,
      text: 'Hello\n{{ password }}',
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details).toMatchObject({ field: 'text', line: 2 });
    const noText = await api('PUT', '/api/v1/mail-templates/password_reset/en', { ...edited, text: '   ' });
    expect(noText.statusCode).toBe(400);
    expect(noText.json().error.details).toMatchObject({ field: 'text' });
    const loop = await api('PUT', '/api/v1/mail-templates/password_reset/en', {
      ...edited,
      html: '{% for i in (1..10000000) %}{{ i }}{% endfor %}',
    });
    expect(loop.statusCode).toBe(400);
    expect((await api('PUT', '/api/v1/mail-templates/nope/en', edited)).statusCode).toBe(404);
    expect((await api('PUT', '/api/v1/mail-templates/password_reset/..%2Fetc', edited)).statusCode).toBe(400);
    expect(await t.db.selectFrom('mail_templates').selectAll().execute()).toEqual([]);
  });

  it('previews an unsaved template with the sample values, escaped, with line and column on error', async () => {
    const api = as(t, admin);
    const preview = await api('POST', '/api/v1/mail-templates/welcome/preview', {
      subject: 'Hi {{ organization }}',
      html: '<p>{{ organization }}</p><a href="{{ credentials_url }}">x</a>',
      text: '{{ instance_url }}',
    });
    expect(preview.statusCode).toBe(200);
    expect(preview.json().rendered).toEqual({
      subject: 'Hi Acme Corp',
      html: '<p>Acme Corp</p><a href="https://marina.example.com/credentials#token=abc">x</a>',
      text: 'https://acme.apps.example.com',
    });
    const broken = await api('POST', '/api/v1/mail-templates/welcome/preview', {
      subject: 'Hi',
      html: '<p>\n  {% if organization %}\n</p>',
      text: 'x',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.details).toMatchObject({ field: 'html', line: 2 });
  });

  it('is refused to everyone but platform admins', async () => {
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    const owner = as(t, await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner'));
    for (const [method, url, body] of [
      ['GET', '/api/v1/mail-templates', undefined],
      ['GET', '/api/v1/mail-templates/welcome/en', undefined],
      ['PUT', '/api/v1/mail-templates/welcome/en', edited],
      ['DELETE', '/api/v1/mail-templates/welcome/en', undefined],
      ['POST', '/api/v1/mail-templates/welcome/preview', edited],
      ['GET', '/api/v1/mail-outbox', undefined],
    ] as const) {
      const response = await owner(method, url, body);
      expect(response.statusCode, `${method} ${url}`).toBe(403);
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/mail-outbox' })).statusCode).toBe(401);
  });

  it('shows the outbox to platform admins, unknown and failed included', async () => {
    await t.db.transaction().execute((trx) =>
      t.services.notices.enqueue(trx, {
        key: 'resumed',
        to: 'owner@acme.test',
        vars: { organization: 'Acme', portal_url: 'https://marina.test' },
        dedupeKey: 'resumed:1',
      }),
    );
    await t.db.updateTable('mail_outbox').set({ status: 'unknown', last_error: 'timed out after DATA' }).execute();
    const outbox = await as(t, admin)('GET', '/api/v1/mail-outbox');
    expect(outbox.statusCode).toBe(200);
    expect(outbox.json().mails).toMatchObject([
      { key: 'resumed', to: 'owner@acme.test', status: 'unknown', lastError: 'timed out after DATA', locale: 'en' },
    ]);
  });

  it('makes the backup-failure notice from the edited template, escaping the organization name', async () => {
    const server = await startSmtpCapture();
    try {
      await t.services.settings.setSmtp(systemContext('test'), {
        host: '127.0.0.1',
        port: server.port,
        security: 'none',
        from: 'marina@hosting.test',
        username: null,
        password: null,
      });
      const created = await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: '<b>Acme</b> & Co' });
      await memberBrowser(t, admin, 'acme', 'owner@acme.test', 'owner');
      await as(t, admin)('PUT', '/api/v1/mail-templates/backup_failed/en', {
        subject: '[Ops] {{ title }} on {{ instance }}',
        html: '<p>{{ organization }}: {{ error }}</p>',
        text: '{{ organization }}: {{ error }}\n{{ url }}\n',
      });
      const result = await t.services.notifications.backupFailed({
        organizationId: created.json().organization.id,
        instanceLabel: 'acme/erp/main',
        instanceId: null,
        trigger: 'schedule',
        what: 'backup',
        error: 'pg_dump: <too many connections>',
        at: new Date('2026-11-21T03:00:00Z'),
        url: 'http://marina.test/instances/1234/backups',
      });
      expect(result).toEqual({ sent: true, to: ['owner@acme.test'] });
      const message = await server.waitForMessage((m) => m.subject.startsWith('[Ops]'));
      expect(message.subject).toBe('[Ops] Scheduled backup failed on acme/erp/main');
      expect(textPart(message).replace(/\r\n/g, '\n')).toContain(
        '<b>Acme</b> & Co: pg_dump: <too many connections>\nhttp://marina.test/instances/1234/backups\n',
      );
      expect(decodeQuotedPrintable(message.body)).toContain(
        '<p>&lt;b&gt;Acme&lt;/b&gt; &amp; Co: pg_dump: &lt;too many connections&gt;</p>',
      );
    } finally {
      await server.stop();
    }
  });

  it('mails invitations from the edited template', async () => {
    const server = await startSmtpCapture();
    try {
      await t.services.settings.setSmtp(systemContext('test'), {
        host: '127.0.0.1',
        port: server.port,
        security: 'none',
        from: 'marina@hosting.test',
        username: null,
        password: null,
      });
      await as(t, admin)('PUT', '/api/v1/mail-templates/invitation/en', {
        subject: '[Acme HR] {{ invited_by }} asks you to join {{ organization }}',
        html: '<p><a href="{{ url }}">Join</a></p>',
        text: 'Join as {{ role }}: {{ url }}\n',
      });
      await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
      const invited = await as(t, admin)('POST', '/api/v1/organizations/acme/members', {
        email: 'new@acme.test',
        role: 'developer',
      });
      expect(invited.statusCode).toBe(201);
      const message = await server.waitForMessage();
      expect(message.subject).toBe('[Acme HR] admin@example.com asks you to join ACME');
      expect(links(message)).toEqual([expect.stringMatching(/\/invite#[A-Za-z0-9_-]{43}$/)]);
      expect(textPart(message)).toMatch(/^Join as developer: /);
    } finally {
      await server.stop();
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBrowser, as, createTestApp, memberBrowser, type TestApp, withToken } from '../../../test/helpers/app.js';
import { type SmtpCapture, startSmtpCapture } from '../../../test/helpers/smtp-capture.js';
import { systemContext } from '../../platform/context.js';

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

describe('your own profile (PATCH /me)', () => {
  it('changes name and language, audited; the next mail comes in that language', async () => {
    const admin = await adminBrowser(t);
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    const ada = await memberBrowser(t, admin, 'acme', 'ada@acme.test', 'developer');
    const french = { subject: 'Réinitialisez votre mot de passe', html: '<p>{{ url }}</p>', text: '{{ url }}' };
    expect((await as(t, admin)('PUT', '/api/v1/mail-templates/password_reset/fr', french)).statusCode).toBe(200);

    const changed = await as(t, ada)('PATCH', '/api/v1/me', { name: 'Ada Lovelace', locale: 'fr' });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json().user).toMatchObject({ name: 'Ada Lovelace', locale: 'fr' });
    expect((await as(t, ada)('GET', '/api/v1/me')).json().user).toMatchObject({ name: 'Ada Lovelace', locale: 'fr' });
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['actor_label', 'details'])
      .where('action', '=', 'user.update_profile')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]?.details).toMatchObject({ after: { name: 'Ada Lovelace', locale: 'fr' } });

    const asked = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-reset',
      payload: { email: 'ada@acme.test' },
      remoteAddress: '203.0.113.9',
    });
    expect(asked.statusCode).toBe(202);
    await t.services.notices.drain();
    const mail = await smtp.waitForMessage((m) => m.to.includes('ada@acme.test') && !m.subject.includes('Invitation'));
    expect(mail.subject).toBe('Réinitialisez votre mot de passe');
  });

  it('refuses a bad name or language and changes nothing; an organization token cannot', async () => {
    const admin = await adminBrowser(t);
    await as(t, admin)('POST', '/api/v1/organizations', { slug: 'acme', name: 'ACME' });
    const ada = await memberBrowser(t, admin, 'acme', 'ada@acme.test', 'owner');
    const before = (await as(t, ada)('GET', '/api/v1/me')).json().user;
    for (const body of [
      { locale: 'french!' },
      { locale: 'x' },
      { name: '' },
      { name: 'a'.repeat(500) },
      { email: 'x@y.z' },
    ]) {
      const refused = await as(t, ada)('PATCH', '/api/v1/me', body);
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
    }
    const orgs = (await as(t, ada)('GET', '/api/v1/me')).json();
    expect(orgs.user).toEqual(before);

    const token = await as(t, ada)('POST', '/api/v1/tokens', {
      name: 'acme only',
      organizationId: orgs.organizations[0].id,
    });
    const scoped = withToken(t, token.json().secret);
    const refused = await scoped('PATCH', '/api/v1/me', { name: 'Someone Else' });
    expect(refused.json().error.code).toBe('MARINA_E_TOKEN_SCOPE');
    expect((await as(t, ada)('GET', '/api/v1/me')).json().user).toEqual(before);
  });
});

import { describe, expect, it } from 'vitest';
import { MarinaError } from '../../platform/errors.js';
import { noticeKeys } from '../../platform/notices.js';
import { invitationMail, invitationVars } from '../identity/invitation-mail.js';
import { catalogue, defaultTemplate, sampleVars } from './catalogue.js';
import { renderMail } from './render.js';

const template = (parts: Partial<{ subject: string; html: string; text: string }>) => ({
  subject: 'Hello',
  html: '<p>Hello</p>',
  text: 'Hello',
  ...parts,
});

async function failure(promise: Promise<unknown>): Promise<MarinaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MarinaError)) throw new Error(`expected a MarinaError, got ${String(error)}`);
  return error;
}

describe('rendering a mail', () => {
  it('escapes values in the HTML part, not in the text part, and makes the subject one line', async () => {
    const organization = '<script>alert(1)</script> & "Co"\r\nBcc: victim@example.com';
    const mail = await renderMail(
      template({
        subject: 'Welcome to {{ organization }}',
        html: '<p>{{ organization }}</p>',
        text: '{{ organization }}',
      }),
      { organization },
    );
    expect(mail.html).toBe(
      '<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;\r\nBcc: victim@example.com</p>',
    );
    expect(mail.html).not.toContain('<script>');
    expect(mail.text).toBe(organization);
    expect(mail.subject).toBe('Welcome to <script>alert(1)</script> & "Co" Bcc: victim@example.com');
    expect(mail.subject).not.toMatch(/[\r\n]/);
  });

  it('refuses an unknown variable, naming the part, line and column', async () => {
    const error = await failure(
      renderMail(template({ html: '<p>Hi</p>\n<p>{{ organisation }}</p>' }), { organization: 'A' }),
    );
    expect(error.code).toBe('MARINA_E_VALIDATION');
    expect(error.details).toMatchObject({ field: 'html', line: 2, column: 7 });
    expect(error.message).toMatch(/organisation/);
  });

  it('refuses an unknown filter and a property from the prototype', async () => {
    const filter = await failure(renderMail(template({ text: '{{ name | shell }}' }), { name: 'x' }));
    expect(filter.details).toMatchObject({ field: 'text', line: 1 });
    const proto = await failure(renderMail(template({ text: '{{ name.constructor }}' }), { name: {} }));
    expect(proto.details).toMatchObject({ field: 'text' });
  });

  it('refuses a loop of 10⁷ iterations within the limits', async () => {
    const started = Date.now();
    const error = await failure(renderMail(template({ text: '{% for i in (1..10000000) %}x{% endfor %}' }), {}));
    expect(error.details).toMatchObject({ field: 'text' });
    expect(error.message).toMatch(/limit/i);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reads no file: include and render find nothing', async () => {
    for (const tag of ["{% include '/etc/passwd' %}", "{% render 'package.json' %}", "{% layout '/etc/hosts' %}"]) {
      const error = await failure(renderMail(template({ text: `x ${tag}` }), {}));
      expect(error.details).toMatchObject({ field: 'text' });
      expect(error.message).not.toMatch(/root:/);
    }
  });

  it('requires a text part', async () => {
    const empty = await failure(renderMail(template({ text: '  \n ' }), {}));
    expect(empty.details).toMatchObject({ field: 'text' });
    const rendersEmpty = await failure(renderMail(template({ text: '{% if false %}x{% endif %}' }), {}));
    expect(rendersEmpty.message).toMatch(/text part/);
  });

  it('renders every shipped mail with its sample values, with a text part and a one-line subject', async () => {
    expect(catalogue.map((definition) => definition.key)).toEqual([...noticeKeys]);
    for (const key of noticeKeys) {
      const mail = await renderMail(defaultTemplate(key), sampleVars(key));
      expect(mail.text.trim().length, key).toBeGreaterThan(20);
      expect(mail.html, key).toMatch(/^<!doctype html>/);
      expect(mail.subject, key).toMatch(/^\[Marina\] /);
      expect(mail.subject, key).not.toMatch(/[\r\n]/);
      // Every variable the catalogue lists is used by the default, so the editor's list is what matters.
      for (const variable of catalogue.find((d) => d.key === key)?.variables ?? []) {
        const used = Object.values(defaultTemplate(key)).some((part) => part.includes(variable.name));
        expect(used, `${key}.${variable.name}`).toBe(true);
      }
    }
  });

  it('sends the welcome credentials as a link, never a password', async () => {
    const definition = catalogue.find((d) => d.key === 'welcome');
    expect(definition?.variables.map((v) => v.name)).toContain('credentials_url');
    expect(definition?.variables.some((v) => /password/i.test(v.name))).toBe(false);
    const mail = await renderMail(defaultTemplate('welcome'), sampleVars('welcome'));
    expect(mail.text).toContain(String(sampleVars('welcome').credentials_url));
  });

  it('says in the invitation template every line the built-in invitation text said', async () => {
    for (const accountExists of [true, false]) {
      const input = {
        url: 'https://marina.test/invite#abc',
        organization: 'ACME\nCorp',
        invitedBy: 'grace@acme.test',
        role: 'developer' as const,
        expiresAt: new Date('2026-12-01T10:20:30Z'),
        accountExists,
        publicUrl: 'https://marina.test',
      };
      const before = invitationMail(input);
      const after = await renderMail(defaultTemplate('invitation'), invitationVars(input));
      expect(after.subject).toBe(before.subject);
      for (const line of before.text.split('\n').filter((l) => l.trim() !== '')) {
        expect(after.text, line).toContain(line);
      }
    }
  });
});

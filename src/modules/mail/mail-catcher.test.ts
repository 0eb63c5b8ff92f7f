import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { as } from '../../../test/helpers/app.js';
import { makeOrganizationWithAdmin, makeProject, requestInstance } from '../../../test/helpers/factories.js';
import { admin, client, credentialsOf, dataDir, inbox, KEEP, setUpMailWorld, staging, t } from './mail-test-support.js';
import { MAIL_HTML_CSP } from './routes.js';
import { MailStore } from './store.js';

setUpMailWorld();

describe('the mail catcher', { timeout: 60_000 }, () => {
  it('keeps an HTML message with an attachment: listed, parsed, HTML sandboxed, attachment downloadable', async () => {
    await client(await credentialsOf(staging.id)).sendMail({
      from: '"Shop" <shop@example.com>',
      to: 'buyer@example.org',
      subject: 'Your order Ω-42',
      text: 'Thank you for your order.',
      html: '<h1>Thank you</h1><script>alert(1)</script><img src="https://tracker.example/pixel.png">',
      attachments: [
        { filename: 'invoice-42.pdf', content: Buffer.from('%PDF-1.4 invoice 42'), contentType: 'application/pdf' },
      ],
    });
    const list = (await inbox(admin, staging.id)).json();
    const summary = list.mails[0];
    expect(summary).toMatchObject({
      subject: 'Your order Ω-42',
      from: '"Shop" <shop@example.com>',
      to: 'buyer@example.org',
      hasHtml: true,
      attachmentCount: 1,
    });

    const one = await as(t, admin)('GET', `/api/v1/instances/${staging.id}/mails/${summary.id}`);
    expect(one.statusCode).toBe(200);
    const mail = one.json().mail;
    expect(mail.text.trim()).toBe('Thank you for your order.');
    expect(mail.headers).toContainEqual({ name: 'Subject', value: expect.stringContaining('=?UTF-8?') });
    expect(mail.attachments).toEqual([
      { index: 0, filename: 'invoice-42.pdf', contentType: 'application/pdf', sizeBytes: 19 },
    ]);

    const html = await as(t, admin)('GET', `/api/v1/instances/${staging.id}/mails/${summary.id}/html`);
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toBe(MAIL_HTML_CSP);
    expect(html.headers['x-content-type-options']).toBe('nosniff');
    expect(html.body).toContain('<h1>Thank you</h1>');

    const file = await as(t, admin)('GET', `/api/v1/instances/${staging.id}/mails/${summary.id}/attachments/0`);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-disposition']).toMatch(/^attachment; filename="invoice-42.pdf"/);
    expect(file.headers['content-type']).toBe('application/octet-stream');
    expect(file.rawPayload.toString()).toBe('%PDF-1.4 invoice 42');
    const missing = await as(t, admin)('GET', `/api/v1/instances/${staging.id}/mails/${summary.id}/attachments/1`);
    expect(missing.statusCode).toBe(404);
  });

  it('refuses a wrong password and a session without login, and a message over the size limit', async () => {
    const login = await credentialsOf(staging.id);
    await expect(client({ user: login.user, pass: `${login.pass}x` }).verify()).rejects.toMatchObject({
      responseCode: 535,
    });
    await expect(
      client().sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'no login', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 530 });
    const before = (await inbox(admin, staging.id)).json().total;
    await expect(
      client(login).sendMail({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 'too big',
        text: 'x'.repeat(1024 * 1024 + 10),
      }),
    ).rejects.toMatchObject({ responseCode: 552 });
    expect((await inbox(admin, staging.id)).json().total).toBe(before);
    // No half-received file is left behind.
    const files = await readdir(join(dataDir, 'mail', staging.id));
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rotates the oldest out beyond the count and the size, newest first with pages', async () => {
    const login = await credentialsOf(staging.id);
    const transport = client(login);
    for (let i = 1; i <= KEEP + 2; i++)
      await transport.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: `numbered ${i}`, text: `n${i}` });
    const all = (await inbox(admin, staging.id)).json();
    expect(all.total).toBe(KEEP);
    expect(all.mails.map((m: { subject: string }) => m.subject)).toEqual(
      Array.from({ length: KEEP }, (_, i) => `numbered ${KEEP + 2 - i}`),
    );
    const files = (await readdir(join(dataDir, 'mail', staging.id))).filter((f) => f.endsWith('.eml'));
    expect(files.sort()).toEqual(all.mails.map((m: { id: string }) => `${m.id}.eml`).sort());

    const first = (await inbox(admin, staging.id, '?limit=3')).json();
    expect(first.mails).toHaveLength(3);
    const second = (await inbox(admin, staging.id, `?limit=3&cursor=${first.nextCursor}`)).json();
    expect(second.mails.map((m: { id: string }) => m.id)).toEqual([all.mails[3].id]);
    expect(second.nextCursor).toBeNull();

    // 2 MB per instance: three messages of 0.9 MB leave the newest two.
    for (let i = 1; i <= 3; i++)
      await transport.sendMail({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: `big ${i}`,
        attachments: [{ filename: 'big.bin', content: Buffer.alloc(650 * 1024, i) }],
      });
    const big = (await inbox(admin, staging.id)).json();
    expect(big.mails.map((m: { subject: string }) => m.subject)).toEqual(['big 3', 'big 2']);
    const bytes = big.mails.reduce((sum: number, m: { sizeBytes: number }) => sum + m.sizeBytes, 0);
    expect(bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
  });

  it('another organization cannot read, download or delete the inbox, nor see the mail server', async () => {
    const listed = (await inbox(admin, staging.id)).json();
    const mailId = listed.mails[0].id;
    const { admin: stranger } = await makeOrganizationWithAdmin(t, admin, { slug: 'globex' });
    const base = `/api/v1/instances/${staging.id}`;
    for (const [method, url] of [
      ['GET', `${base}/mails`],
      ['GET', `${base}/mails/${mailId}`],
      ['GET', `${base}/mails/${mailId}/html`],
      ['GET', `${base}/mails/${mailId}/attachments/0`],
      ['DELETE', `${base}/mails`],
      ['GET', `${base}/mail-server`],
    ] as const) {
      const answer = await as(t, stranger)(method, url);
      expect(answer.statusCode, `${method} ${url}`).toBe(404);
    }
    const put = await as(t, stranger)('PUT', `${base}/mail-server`, { mode: 'catcher' });
    expect(put.statusCode).toBe(404);
    expect((await inbox(admin, staging.id)).json().total).toBe(listed.total);
  });

  it('at start, the messages of instances that no longer exist are removed from disk', async () => {
    const dir = join(dataDir, 'mail');
    const gone = randomUUID();
    await mkdir(join(dir, gone), { recursive: true });
    await writeFile(join(dir, gone, `${randomUUID()}.eml`), 'Subject: left over\r\n\r\nx');
    const store = new MailStore({ db: t.db, clock: t.clock, dir, keepMessages: KEEP, keepBytes: 1 << 20 });
    expect(await store.sweepDeleted()).toBe(1);
    const left = await readdir(dir);
    expect(left).not.toContain(gone);
    expect(left).toContain(staging.id);
  });

  it("one instance's login files under it only; delete all empties the inbox and is audited", async () => {
    const project = await makeProject(as(t, admin), { name: 'other-mail' });
    const other = await requestInstance(as(t, admin), { project: project.id, name: 'other' });
    // Its login exists from the start (the setting is saved before its database is made).
    await as(t, admin)('PUT', `/api/v1/instances/${other.instance.id}/mail-server`, { mode: 'catcher' });
    const otherLogin = await credentialsOf(other.instance.id);
    const before = (await inbox(admin, staging.id)).json().total;
    await client(otherLogin).sendMail({ from: 'x@example.com', to: 'y@example.com', subject: 'for other', text: 'x' });
    expect((await inbox(admin, staging.id)).json().total).toBe(before);
    expect((await inbox(admin, other.instance.id)).json().mails[0].subject).toBe('for other');

    const deleted = await as(t, admin)('DELETE', `/api/v1/instances/${staging.id}/mails`);
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().deleted).toBe(before);
    expect((await inbox(admin, staging.id)).json()).toMatchObject({ total: 0, mails: [] });
    expect((await inbox(admin, other.instance.id)).json().total).toBe(1);
    const audit = await t.db
      .selectFrom('audit_events')
      .select('action')
      .where('action', '=', 'instance.delete_mails')
      .execute();
    expect(audit).toHaveLength(1);
  });
});

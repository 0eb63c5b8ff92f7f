import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemContext } from '../src/platform/context.js';
import type { Notice } from '../src/platform/notices.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { links, type SmtpCapture, startSmtpCapture, textPart } from './helpers/smtp-capture.js';

// The outbox against a real SMTP server (smtp-server on loopback) and a real PostgreSQL.
let t: TestApp;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  t = await createTestApp();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await t.close();
});

async function capture(): Promise<SmtpCapture> {
  const server = await startSmtpCapture();
  cleanups.push(() => server.stop());
  return server;
}

async function useSmtp(port: number): Promise<void> {
  await t.services.settings.setSmtp(systemContext('test'), {
    host: '127.0.0.1',
    port,
    security: 'none',
    from: 'Marina <marina@hosting.test>',
    username: null,
    password: null,
  });
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

const reset = (to: string, dedupeKey: string, url = 'https://marina.test/password-reset#token=abc'): Notice => ({
  key: 'password_reset',
  to,
  vars: { email: to, url, expires_at: '2026-12-24T09:30:00.000Z' },
  dedupeKey,
});

async function rows() {
  return t.db.selectFrom('mail_outbox').selectAll().orderBy('created_at').execute();
}

describe('the mail outbox', () => {
  it('sends a mail enqueued in a committed transaction once, with a text and an HTML part', async () => {
    const smtp = await capture();
    await useSmtp(smtp.port);
    await t.db.transaction().execute((trx) => t.services.notices.enqueue(trx, reset('Ada@Example.com', 'reset:1')));
    await t.services.notices.drain();
    const message = await smtp.waitForMessage();
    expect(message.to).toEqual(['ada@example.com']);
    expect(message.subject).toBe('[Marina] Reset your password');
    expect(links(message)).toContain('https://marina.test/password-reset#token=abc');
    expect(textPart(message)).toContain('until 2026-12-24 09:30 UTC');
    expect(message.headers['content-type']).toMatch(/multipart\/alternative/);
    // More drains (and the one the enqueue triggered) send nothing more.
    await t.services.notices.drain();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await t.services.notices.drain();
    expect(smtp.messages).toHaveLength(1);
    const [row] = await rows();
    expect(row).toMatchObject({ status: 'sent', attempts: 1, last_error: null });
    // The single-use link does not stay in the database once the mail left.
    expect(row?.vars).toEqual({});
    expect(row?.sent_at).not.toBeNull();
  });

  it('never sends a mail whose transaction rolled back', async () => {
    const smtp = await capture();
    await useSmtp(smtp.port);
    await expect(
      t.db.transaction().execute(async (trx) => {
        await t.services.notices.enqueue(trx, reset('ada@example.com', 'reset:rolled-back'));
        throw new Error('the step failed');
      }),
    ).rejects.toThrow('the step failed');
    await t.services.notices.drain();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await t.services.notices.drain();
    expect(await rows()).toHaveLength(0);
    expect(smtp.messages).toHaveLength(0);
  });

  it('sends one mail for two enqueues with the same dedupe key', async () => {
    const smtp = await capture();
    await useSmtp(smtp.port);
    await t.db.transaction().execute((trx) => t.services.notices.enqueue(trx, reset('ada@example.com', 'reset:same')));
    await t.services.notices.drain();
    await smtp.waitForMessage();
    await t.db
      .transaction()
      .execute((trx) =>
        t.services.notices.enqueue(trx, reset('ada@example.com', 'reset:same', 'https://marina.test/other')),
      );
    await t.services.notices.drain();
    expect(await rows()).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);
    expect(links(smtp.messages[0] as never)).not.toContain('https://marina.test/other');
  });

  it('keeps a mail queued while SMTP is not configured, and sends it once it is', async () => {
    await t.db.transaction().execute((trx) => t.services.notices.enqueue(trx, reset('ada@example.com', 'reset:later')));
    await t.services.notices.drain();
    expect(await rows()).toMatchObject([{ status: 'queued', attempts: 0 }]);
    const smtp = await capture();
    await useSmtp(smtp.port);
    await t.services.notices.drain();
    await smtp.waitForMessage();
    expect(await rows()).toMatchObject([{ status: 'sent', attempts: 1 }]);
  });

  it('retries later when the SMTP server is down, and delivers once when it is up', async () => {
    await useSmtp(await closedPort());
    await t.db.transaction().execute((trx) => t.services.notices.enqueue(trx, reset('ada@example.com', 'reset:down')));
    await t.services.notices.drain();
    const [failed] = await rows();
    expect(failed).toMatchObject({ status: 'queued', attempts: 1 });
    expect(failed?.last_error).toMatch(/refused the connection/);
    expect(failed?.next_attempt_at.getTime()).toBeGreaterThan(t.clock.now().getTime());

    // The server comes up; the mail waits for its next attempt (backoff), then leaves once.
    const smtp = await capture();
    await useSmtp(smtp.port);
    await t.services.notices.drain();
    expect(smtp.messages).toHaveLength(0);
    t.clock.advanceMinutes(2);
    await t.services.notices.drain();
    await smtp.waitForMessage();
    await t.services.notices.drain();
    expect(smtp.messages).toHaveLength(1);
    expect(await rows()).toMatchObject([{ status: 'sent', attempts: 2 }]);
  });

  it('marks a mail left `sending` by a crash as unknown at start, and never sends it', async () => {
    const smtp = await capture();
    await useSmtp(smtp.port);
    // As a sender that claimed the row and died before it knew whether the server took it.
    await t.db.transaction().execute((trx) => t.services.notices.enqueue(trx, reset('ada@example.com', 'reset:crash')));
    await t.db.updateTable('mail_outbox').set({ status: 'sending', attempts: 1 }).execute();
    await t.services.notices.start();
    cleanups.push(() => t.services.notices.stop());
    await t.services.notices.drain();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await t.services.notices.drain();
    const [row] = await rows();
    expect(row?.status).toBe('unknown');
    expect(row?.last_error).toMatch(/not sent again/);
    expect(row?.vars).toEqual({});
    expect(smtp.messages).toHaveLength(0);
  });

  it('marks a mail unknown, never resent, when the connection drops after DATA', async () => {
    // A server that takes the whole message, then closes without its final reply.
    const received: string[] = [];
    const server: Server = createServer((socket: Socket) => {
      let inData = false;
      let buffer = '';
      socket.write('220 drop.test ESMTP\r\n');
      socket.on('data', (chunk) => {
        buffer += chunk.toString('utf8');
        if (inData) {
          if (buffer.includes('\r\n.\r\n')) {
            received.push(buffer);
            socket.destroy();
          }
          return;
        }
        let end = buffer.indexOf('\r\n');
        while (end !== -1 && !inData) {
          const line = buffer.slice(0, end).toUpperCase();
          buffer = buffer.slice(end + 2);
          if (line.startsWith('EHLO')) socket.write('250-drop.test\r\n250 8BITMIME\r\n');
          else if (line.startsWith('DATA')) {
            inData = true;
            socket.write('354 go ahead\r\n');
          } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
          else socket.write('250 ok\r\n');
          end = buffer.indexOf('\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('no port');
    await useSmtp(address.port);

    await t.db.transaction().execute((trx) => t.services.notices.enqueue(trx, reset('ada@example.com', 'reset:drop')));
    await t.services.notices.drain();
    expect(received).toHaveLength(1);
    const [row] = await rows();
    expect(row?.status).toBe('unknown');
    t.clock.advanceMinutes(120);
    await t.services.notices.drain();
    expect(received).toHaveLength(1);
    expect((await rows())[0]?.status).toBe('unknown');
  });

  it("writes in the account's language, falling back to English", async () => {
    const smtp = await capture();
    await useSmtp(smtp.port);
    await t.services.users.createPlatformAdmin(systemContext('test'), {
      email: 'fr@example.com',
      password: 'correct horse battery staple',
    });
    await t.db.updateTable('users').set({ locale: 'fr' }).where('email', '=', 'fr@example.com').execute();
    await t.services.mailTemplates.put(systemContext('test'), 'password_reset', 'fr', {
      subject: '[Marina] Nouveau mot de passe',
      html: '<p>Choisissez-le : <a href="{{ url }}">{{ url }}</a></p>',
      text: 'Choisissez-le : {{ url }}\n',
    });
    await t.db.transaction().execute(async (trx) => {
      await t.services.notices.enqueue(trx, reset('fr@example.com', 'reset:fr'));
      await t.services.notices.enqueue(trx, reset('nobody@example.com', 'reset:en'));
      // A language without a translation falls back to English.
      await t.services.notices.enqueue(trx, { ...reset('de@example.com', 'reset:de'), locale: 'de' });
    });
    await t.services.notices.drain();
    const fr = await smtp.waitForMessage((m) => m.to.includes('fr@example.com'));
    expect(fr.subject).toBe('[Marina] Nouveau mot de passe');
    expect(textPart(fr)).toContain('Choisissez-le');
    const en = await smtp.waitForMessage((m) => m.to.includes('nobody@example.com'));
    expect(en.subject).toBe('[Marina] Reset your password');
    const de = await smtp.waitForMessage((m) => m.to.includes('de@example.com'));
    expect(de.subject).toBe('[Marina] Reset your password');
    expect((await rows()).map((r) => r.locale).sort()).toEqual(['de', 'en', 'fr']);
  });

  it('refuses an enqueue that lacks a variable of its template', async () => {
    await expect(
      t.db.transaction().execute((trx) =>
        t.services.notices.enqueue(trx, {
          key: 'password_reset',
          to: 'a@example.com',
          vars: { url: 'x' },
          dedupeKey: 'k',
        }),
      ),
    ).rejects.toThrow(/lacks the variables email, expires_at/);
  });
});

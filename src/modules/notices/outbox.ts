import type { Logger } from 'pino';
import { MailError, type SmtpSettings, sendMail } from '../../adapters/mail.js';
import type { Db } from '../../db/database.js';
import type { OutboxStatus } from '../../db/schema-selfservice.js';
import type { Clock } from '../../platform/clock.js';
import type { Notice, Notices } from '../../platform/notices.js';
import type { SettingsService } from '../settings/service.js';
import { DEFAULT_LOCALE, isNoticeKey, missingVars } from './catalogue.js';
import { renderMail } from './render.js';
import type { MailTemplateService } from './templates.js';

// The sender looks for due mail this often, besides right after an enqueue.
const DEFAULT_INTERVAL_MS = 15_000;
// An enqueue is usually followed by its commit within milliseconds; a later commit is caught by the timer.
const AFTER_ENQUEUE_MS = 300;
const BATCH = 50;
// Retries when the server surely did not take the message: 1, 2, 4… minutes, at most an hour apart.
const MAX_ATTEMPTS = 10;
const backoffMinutes = (attempts: number) => Math.min(60, 2 ** Math.max(0, attempts - 1));
const MAX_ERROR = 1000;
// A mail's values hold single-use links (reset, verification, credentials): once the mail is done
// with (sent, failed or unknown) they are dropped, so a copy of the database does not hold live links.
const SCRUBBED = JSON.stringify({});
// biome-ignore lint/suspicious/noControlCharactersInRegex: a recipient with a line break would inject headers.
const UNSAFE_ADDRESS = /[\x00-\x1f\x7f<>,;\s]/;

interface OutboxRow {
  id: string;
  key: string;
  to: string;
  locale: string;
  vars: Record<string, unknown>;
  attempts: number;
}

export interface OutboxEntry {
  id: string;
  key: string;
  to: string;
  locale: string;
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
  organizationId: string | null;
  createdAt: string;
  nextAttemptAt: string;
  sentAt: string | null;
}

/**
 * Whether the server surely did not take the message, so sending again cannot make a second copy:
 * it refused the connection, the login or TLS, the name did not resolve, or it answered 4xx/5xx.
 * Anything else (a timeout or a dropped connection, possibly after DATA) may have delivered it.
 */
export function surelyNotTaken(error: unknown): boolean {
  if (!(error instanceof MailError)) return false;
  if (error.responseCode !== null && error.responseCode >= 400 && error.responseCode < 600) return true;
  if (error.reason === 'auth' || error.reason === 'dns' || error.reason === 'tls') return true;
  // describeMailError says "refused the connection" only for ECONNREFUSED: nothing was ever sent.
  return error.reason === 'connection' && error.message.includes('refused the connection');
}

export interface NoticeOutboxDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  settings: SettingsService;
  templates: MailTemplateService;
  intervalMs?: number;
}

/**
 * The outbox: mail is written in the transaction of what caused it and sent after the commit, at
 * most once. A row is claimed (queued → sending) before it is sent; a row still `sending` when
 * Marina starts may or may not have left, so it becomes `unknown` and is never sent again.
 */
export class NoticeOutbox implements Notices {
  private draining: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: NoticeOutboxDeps) {}

  async enqueue(trx: Db, notice: Notice): Promise<void> {
    if (!isNoticeKey(notice.key)) throw new Error(`unknown notice key ${String(notice.key)}`);
    // A caller that forgot a variable learns it here, in its own test, rather than as a failed mail later.
    const missing = missingVars(notice.key, notice.vars);
    if (missing.length > 0) throw new Error(`notice ${notice.key} lacks the variables ${missing.join(', ')}`);
    const to = notice.to.trim().toLowerCase();
    if (to === '' || UNSAFE_ADDRESS.test(to) || !to.includes('@')) throw new Error('notice: not a single address');
    const locale = notice.locale ?? (await this.localeOf(trx, to));
    await trx
      .insertInto('mail_outbox')
      .values({
        key: notice.key,
        to,
        locale,
        vars: JSON.stringify(notice.vars),
        dedupe_key: notice.dedupeKey,
        organization_id: notice.organizationId ?? null,
        next_attempt_at: this.deps.clock.now(),
      })
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .execute();
    this.drainSoon();
  }

  /** Sends what is due; concurrent calls share one pass (and ask for another if mail came meanwhile). */
  drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          await this.drainOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  /** At start-up: what was being sent when Marina stopped is `unknown`, never sent again; then the timer. */
  async start(): Promise<void> {
    this.stopped = false;
    const interrupted = await this.deps.db
      .updateTable('mail_outbox')
      .set({
        status: 'unknown',
        last_error: 'Marina stopped while sending it: it may or may not have been delivered, so it is not sent again.',
        vars: SCRUBBED,
      })
      .where('status', '=', 'sending')
      .returning(['id', 'key', 'to'])
      .execute();
    for (const row of interrupted) {
      this.deps.logger.warn({ outbox: row.id, key: row.key }, 'mail outbox: a send was interrupted; marked unknown');
    }
    this.timer = setInterval(() => this.drainQuietly(), this.deps.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
    this.drainSoon();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = null;
    this.soon = null;
    await this.draining?.catch(() => undefined);
  }

  /** The latest mail, newest first (platform admins; `unknown` and `failed` need a look). */
  async recent(limit = 100): Promise<OutboxEntry[]> {
    const rows = await this.deps.db
      .selectFrom('mail_outbox')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      key: row.key,
      to: row.to,
      locale: row.locale,
      status: row.status,
      attempts: row.attempts,
      lastError: row.last_error,
      organizationId: row.organization_id,
      createdAt: row.created_at.toISOString(),
      nextAttemptAt: row.next_attempt_at.toISOString(),
      sentAt: row.sent_at?.toISOString() ?? null,
    }));
  }

  private async localeOf(trx: Db, email: string): Promise<string> {
    const user = await trx.selectFrom('users').select('locale').where('email', '=', email).executeTakeFirst();
    return user?.locale ?? DEFAULT_LOCALE;
  }

  private drainSoon(): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      this.drainQuietly();
    }, AFTER_ENQUEUE_MS);
    this.soon.unref();
  }

  private drainQuietly(): void {
    if (this.stopped) return;
    this.drain().catch((error: unknown) =>
      this.deps.logger.warn({ error: (error as Error).message }, 'mail outbox: sending failed; tried again later'),
    );
  }

  private async drainOnce(): Promise<void> {
    let smtp: SmtpSettings | null;
    try {
      smtp = await this.deps.settings.getSmtpForSending();
    } catch (error) {
      this.deps.logger.warn({ error: (error as Error).message }, 'mail outbox: the SMTP settings cannot be read');
      return;
    }
    // Without SMTP the mail stays queued: it leaves once a platform admin configures it.
    if (!smtp) return;
    const due = await this.deps.db
      .selectFrom('mail_outbox')
      .select('id')
      .where('status', '=', 'queued')
      .where('next_attempt_at', '<=', this.deps.clock.now())
      .orderBy('next_attempt_at')
      .limit(BATCH)
      .execute();
    for (const { id } of due) {
      if (this.stopped) return;
      const row = await this.claim(id);
      if (row) await this.send(smtp, row);
    }
  }

  /** queued → sending, only if still queued: two senders never both take a row. */
  private async claim(id: string): Promise<OutboxRow | undefined> {
    return this.deps.db
      .updateTable('mail_outbox')
      .set((eb) => ({ status: 'sending', attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .returning(['id', 'key', 'to', 'locale', 'vars', 'attempts'])
      .executeTakeFirst();
  }

  private async send(smtp: SmtpSettings, row: OutboxRow): Promise<void> {
    const context = { outbox: row.id, key: row.key };
    let mail: Awaited<ReturnType<typeof renderMail>>;
    try {
      if (!isNoticeKey(row.key)) throw new Error(`unknown notice key ${row.key}`);
      const template = await this.deps.templates.resolve(row.key, row.locale);
      mail = await renderMail(template, row.vars);
    } catch (error) {
      // Nothing left Marina: the template is wrong, not the server. Visible as failed with the reason.
      await this.finish(row.id, 'failed', `The template did not render: ${(error as Error).message}`);
      this.deps.logger.warn({ ...context, error: (error as Error).message }, 'mail outbox: template did not render');
      return;
    }
    try {
      await sendMail(smtp, { to: [row.to], subject: mail.subject, text: mail.text, html: mail.html });
      await this.deps.db
        .updateTable('mail_outbox')
        .set({ status: 'sent', sent_at: this.deps.clock.now(), last_error: null, vars: SCRUBBED })
        .where('id', '=', row.id)
        .execute();
      this.deps.logger.info(context, 'mail outbox: sent');
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR);
      if (!surelyNotTaken(error)) {
        await this.finish(row.id, 'unknown', `${message} (it may have been delivered: not sent again)`);
        this.deps.logger.warn({ ...context, error: message }, 'mail outbox: outcome unknown; not sent again');
      } else if (row.attempts >= MAX_ATTEMPTS) {
        await this.finish(row.id, 'failed', `${message} (gave up after ${row.attempts} attempts)`);
        this.deps.logger.warn({ ...context, error: message }, 'mail outbox: gave up');
      } else {
        const next = new Date(this.deps.clock.now().getTime() + backoffMinutes(row.attempts) * 60_000);
        await this.deps.db
          .updateTable('mail_outbox')
          .set({ status: 'queued', last_error: message, next_attempt_at: next })
          .where('id', '=', row.id)
          .execute();
        this.deps.logger.info({ ...context, error: message, next }, 'mail outbox: not taken; retried later');
      }
    }
  }

  private async finish(id: string, status: 'failed' | 'unknown', error: string): Promise<void> {
    await this.deps.db
      .updateTable('mail_outbox')
      .set({ status, last_error: error.slice(0, MAX_ERROR), vars: SCRUBBED })
      .where('id', '=', id)
      .execute();
  }
}

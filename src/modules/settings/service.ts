import { isIP } from 'node:net';
import type { Static } from 'typebox';
import {
  MailError,
  parseFromAddress,
  type SentMail,
  type SmtpSecurity,
  type SmtpSettings,
  sendMail,
  smtpSecurities,
} from '../../adapters/mail.js';
import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { SMTP_PASSWORD_AT } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { invalid, normalizeEmail } from '../../platform/validation.js';
import type { SmtpSettings as SmtpSettingsSchema } from './schemas.js';

export type { SmtpSecurity, SmtpSettings } from '../../adapters/mail.js';

/** What anyone may see of the SMTP settings: whether a password is stored, never the password. */
export type SmtpSettingsView = Static<typeof SmtpSettingsSchema>;

/**
 * A full replacement of the settings, except the password: omitted keeps the stored one,
 * `null` removes it, a string replaces it.
 */
export interface SmtpInput {
  host: unknown;
  port: unknown;
  security: unknown;
  from: unknown;
  username?: unknown;
  password?: unknown;
}

/** The jsonb value under the key 'smtp'; `password` is sealed with the SecretBox. */
interface StoredSmtp {
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string | null;
  from: string;
  password: string | null;
}

const SMTP_KEY = 'smtp';
/** The audit action of a test email; the rate limit counts these. */
const SMTP_TEST_ACTION = 'settings.test';
/** How many test emails a platform sends at most, and in how many minutes. */
export const SMTP_TESTS = { count: 5, minutes: 10 } as const;

/** What the SMTP server answered a test email. */
export interface SmtpTestResult {
  to: string;
  /** host:port */
  server: string;
  /** The server's reply to the message ("250 2.0.0 Ok: queued as …"). */
  response: string;
}

export const smtpLimits = { host: 253, username: 256, password: 256, from: 320, fromName: 100 } as const;

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
// Everything below U+0020 and DEL: they would end an SMTP command line or corrupt a header.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\x00-\x1f\x7f]/;

function requireHost(value: unknown): string {
  if (typeof value !== 'string') throw invalid('host', 'host is required.');
  const host = value.trim().toLowerCase();
  if (host === '' || host.length > smtpLimits.host || (isIP(host) === 0 && !HOSTNAME.test(host))) {
    throw invalid('host', 'host must be a host name such as smtp.example.com, or an IP address.');
  }
  return host;
}

function requirePort(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalid('port', 'port must be a whole number from 1 to 65535 (usually 587, 465 or 25).');
  }
  return value;
}

function requireSecurity(value: unknown): SmtpSecurity {
  const security = smtpSecurities.find((s) => s === value);
  if (!security) throw invalid('security', `security must be one of ${smtpSecurities.join(', ')}.`);
  return security;
}

/** Accepts `address` or `Name <address>` (the name optionally quoted); returns the canonical form. */
export function normalizeFrom(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid('from', 'from is required.');
  if (value.length > smtpLimits.from || CONTROL.test(value)) {
    throw invalid('from', 'from must be an email address, or "Name <address>", on one line.');
  }
  const hasAngle = /[<>]/.test(value);
  const parsed = parseFromAddress(value);
  if (hasAngle && parsed.address === value.trim()) {
    throw invalid('from', 'from must be an email address, or "Name <address>".');
  }
  const address = normalizeEmail(parsed.address, 'from');
  if (parsed.name === null) return address;
  if (parsed.name.length > smtpLimits.fromName || /["\\<>]/.test(parsed.name)) {
    throw invalid('from', `The name in from is at most ${smtpLimits.fromName} characters, without " \\ < or >.`);
  }
  // A name with header specials (a comma, a dot…) must be quoted, or mail clients split it.
  const name = /[()[\]:;@,.]/.test(parsed.name) ? `"${parsed.name}"` : parsed.name;
  return `${name} <${address}>`;
}

function optionalUsername(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > smtpLimits.username || CONTROL.test(value)) {
    throw invalid('username', `username is text of at most ${smtpLimits.username} characters, on one line.`);
  }
  return value;
}

/** undefined: keep; null: clear; a string: replace. */
function passwordChange(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string' || value === '') {
    throw invalid('password', 'password must be non-empty text; send null to remove it, or leave it out to keep it.');
  }
  if (value.length > smtpLimits.password || CONTROL.test(value)) {
    throw invalid('password', `password is at most ${smtpLimits.password} characters, without control characters.`);
  }
  return value;
}

function readStored(value: Record<string, unknown>): StoredSmtp {
  const { host, port, security, username, from, password } = value;
  if (
    typeof host !== 'string' ||
    typeof port !== 'number' ||
    typeof from !== 'string' ||
    !smtpSecurities.some((s) => s === security) ||
    (username !== null && typeof username !== 'string') ||
    (password !== null && typeof password !== 'string')
  ) {
    throw new MarinaError('MARINA_E_INTERNAL', 'The stored SMTP settings are damaged; set them again.');
  }
  return { host, port, security: security as SmtpSecurity, username, from, password };
}

export interface SettingsServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
}

/**
 * Platform settings, for now the SMTP server Marina sends its notices through. Only platform
 * admins read or change them; the password is sealed at rest and never leaves this service
 * except towards the mail server.
 */
export class SettingsService {
  constructor(private readonly deps: SettingsServiceDeps) {}

  async getSmtp(actor: Actor): Promise<SmtpSettingsView | null> {
    requirePlatformAdmin(actor);
    const row = await this.deps.db.selectFrom('settings').selectAll().where('key', '=', SMTP_KEY).executeTakeFirst();
    return row ? this.view(readStored(row.value), row.updated_by, row.updated_at) : null;
  }

  /** For Marina's own use when sending: the opened password. Never hand this to a route. */
  async getSmtpForSending(): Promise<SmtpSettings | null> {
    const row = await this.deps.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', SMTP_KEY)
      .executeTakeFirst();
    if (!row) return null;
    const stored = readStored(row.value);
    return {
      ...stored,
      password: stored.password === null ? null : this.deps.box.open(stored.password, SMTP_PASSWORD_AT),
    };
  }

  async setSmtp(ctx: RequestContext, input: SmtpInput): Promise<SmtpSettingsView> {
    requirePlatformAdmin(ctx.actor);
    const host = requireHost(input.host);
    const port = requirePort(input.port);
    const security = requireSecurity(input.security);
    const from = normalizeFrom(input.from);
    const username = optionalUsername(input.username);
    const change = passwordChange(input.password);
    const by = ctx.actor.kind === 'user' ? ctx.actor.email : ctx.actor.label;

    return this.deps.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('settings')
        .select('value')
        .where('key', '=', SMTP_KEY)
        .forUpdate()
        .executeTakeFirst();
      const previous = row ? readStored(row.value) : null;
      let sealed: string | null;
      if (change === undefined) {
        sealed = username === null ? null : (previous?.password ?? null);
        // A kept password only goes to the server it was typed for: otherwise an admin could point
        // Marina at a server of their own, or at plain text, and read it there.
        const movedAway =
          previous !== null &&
          (previous.host !== host || previous.port !== port || (security === 'none' && previous.security !== 'none'));
        if (sealed !== null && movedAway) {
          throw invalid(
            'password',
            'Enter the password again: the host, port or security changed, and the stored password is only sent to the server it was entered for.',
          );
        }
      } else {
        sealed = change === null ? null : this.deps.box.seal(change, SMTP_PASSWORD_AT);
      }
      if (change !== undefined && change !== null && username === null) {
        throw invalid('username', 'A password needs a username.');
      }
      if (username !== null && sealed === null) {
        throw invalid('password', 'A username needs a password.');
      }
      const stored: StoredSmtp = { host, port, security, username, from, password: sealed };
      const now = this.deps.clock.now();
      const value = JSON.stringify(stored);
      await trx
        .insertInto('settings')
        .values({ key: SMTP_KEY, value, updated_by: by, updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_by: by, updated_at: now }))
        .execute();
      const passwordChanged = (previous?.password ?? null) !== sealed;
      await this.deps.audit.record(
        ctx,
        {
          action: 'settings.update',
          target: { type: 'settings', id: SMTP_KEY, label: 'SMTP' },
          // Never the password, sealed or not: only whether it changed.
          details: { host, port, security, username, from, passwordChanged, passwordSet: sealed !== null },
        },
        trx,
      );
      return this.view(stored, by, now);
    });
  }

  /** Removes the SMTP settings; Marina stops sending email. Returns whether there were any. */
  async clearSmtp(ctx: RequestContext): Promise<boolean> {
    requirePlatformAdmin(ctx.actor);
    return this.deps.db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('settings').where('key', '=', SMTP_KEY).executeTakeFirst();
      if (deleted.numDeletedRows === 0n) return false;
      await this.deps.audit.record(
        ctx,
        { action: 'settings.clear', target: { type: 'settings', id: SMTP_KEY, label: 'SMTP' } },
        trx,
      );
      return true;
    });
  }

  /**
   * Sends a test message through the stored settings and answers what the server replied;
   * failures become MARINA_E_SMTP_FAILED. A few per minutes only: each one is an email to someone.
   */
  async testSmtp(ctx: RequestContext, to: unknown): Promise<SmtpTestResult> {
    requirePlatformAdmin(ctx.actor);
    const recipient = normalizeEmail(to, 'to');
    await this.requireTestAllowance();
    let settings: SmtpSettings | null;
    try {
      settings = await this.getSmtpForSending();
    } catch (error) {
      if (error instanceof MarinaError) throw error;
      throw new MarinaError(
        'MARINA_E_SMTP_FAILED',
        'The stored SMTP password cannot be decrypted (the secret key changed): enter it again.',
        { reason: 'secret' },
      );
    }
    if (!settings) throw new MarinaError('MARINA_E_SMTP_NOT_CONFIGURED');
    const by = ctx.actor.kind === 'user' ? ctx.actor.email : ctx.actor.label;
    let failure: MailError | null = null;
    let sent: SentMail | null = null;
    try {
      sent = await sendMail(settings, {
        to: [recipient],
        subject: '[Marina] Test email',
        text: [
          `This is a test email from Marina, sent by ${by} at ${this.deps.clock.now().toISOString()}.`,
          '',
          'If it reached you, Marina can send its notices (such as failed backups) through this SMTP server.',
        ].join('\n'),
      });
    } catch (error) {
      failure = error instanceof MailError ? error : new MailError('unknown', 'Sending the test email failed.');
    }
    await this.deps.audit.record(ctx, {
      action: SMTP_TEST_ACTION,
      target: { type: 'settings', id: SMTP_KEY, label: 'SMTP' },
      details: { to: recipient, ok: failure === null, ...(failure ? { reason: failure.reason } : {}) },
    });
    if (failure) {
      throw new MarinaError('MARINA_E_SMTP_FAILED', failure.message, {
        reason: failure.reason,
        responseCode: failure.responseCode,
      });
    }
    return { to: recipient, server: `${settings.host}:${settings.port}`, response: sent?.response ?? '' };
  }

  /** At most SMTP_TESTS.count test emails in SMTP_TESTS.minutes, counted from the audit trail. */
  private async requireTestAllowance(): Promise<void> {
    const since = new Date(this.deps.clock.now().getTime() - SMTP_TESTS.minutes * 60_000);
    const recent = await this.deps.db
      .selectFrom('audit_events')
      .select('at')
      .where('action', '=', SMTP_TEST_ACTION)
      .where('target_id', '=', SMTP_KEY)
      .where('at', '>', since)
      .orderBy('at')
      .execute();
    const oldest = recent[0];
    if (recent.length < SMTP_TESTS.count || !oldest) return;
    const retryAfterSeconds = Math.max(
      1,
      Math.ceil((new Date(oldest.at).getTime() + SMTP_TESTS.minutes * 60_000 - this.deps.clock.now().getTime()) / 1000),
    );
    throw new MarinaError(
      'MARINA_E_RATE_LIMITED',
      `At most ${SMTP_TESTS.count} test emails in ${SMTP_TESTS.minutes} minutes: try again in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
    );
  }

  private view(stored: StoredSmtp, updatedBy: string, updatedAt: Date): SmtpSettingsView {
    return {
      host: stored.host,
      port: stored.port,
      security: stored.security,
      username: stored.username,
      from: stored.from,
      passwordSet: stored.password !== null,
      updatedBy,
      updatedAt: updatedAt.toISOString(),
    };
  }
}

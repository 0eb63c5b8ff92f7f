import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import { addMinutes, type Clock } from '../../platform/clock.js';
import type { AnonymousContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import type { Notices } from '../../platform/notices.js';
import { randomSecret, sha256 } from '../../platform/secrets/secrets.js';
import { limits, patterns } from '../../platform/validation.js';
import type { AuthService, LoginResult } from './auth.js';
import { hashPassword, requireStrongPassword } from './passwords.js';
import { asActor } from './users.js';

/** How long a reset link works, once. */
export const RESET_LINK_MINUTES = 60;
/** Requests per hour: per address (more get no mail, silently) and per client address (429). */
export const RESET_LIMITS = { perEmail: 3, perIp: 20, windowMinutes: 60 } as const;
/** Attempts are kept this long for the limits of the public forms. */
const ATTEMPT_RETENTION_MINUTES = 24 * 60;

const INVALID_LINK = 'This reset link is invalid, used or expired; ask for a new one.';

export interface PasswordResetDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  auth: AuthService;
  /** The outbox (src/modules/notices/); without it no reset mail can be sent. */
  notices?: Notices;
  publicUrl: string;
}

/**
 * "Forgot password?": a single-use link to the account's mailbox, 60 minutes. The answer is the same
 * whether the address has an account or not, so the form tells nobody who has one.
 */
export class PasswordResetService {
  constructor(private readonly deps: PasswordResetDeps) {}

  async request(ctx: AnonymousContext, input: { email: unknown }): Promise<void> {
    const now = this.deps.clock.now();
    const email = typeof input.email === 'string' ? input.email.trim().toLowerCase().slice(0, limits.email) : '';
    if (!new RegExp(patterns.email).test(email)) {
      throw new MarinaError('MARINA_E_VALIDATION', 'Send an email address.', { field: 'email' });
    }
    const ip = ctx.ip ?? 'unknown';
    const since = addMinutes(now, -RESET_LIMITS.windowMinutes);
    const limited = await this.deps.db.transaction().execute(async (trx) => {
      // Counted under a lock per address and per client: parallel requests cannot all see the count
      // below the limit.
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`reset:${email}`}, 0))`.execute(trx);
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`reset-ip:${ip}`}, 0))`.execute(trx);
      const counts = await trx
        .selectFrom('public_attempts')
        .select((eb) => [
          eb.fn.countAll<string>().filterWhere('ip', '=', ip).as('ip'),
          eb.fn.countAll<string>().filterWhere('email', '=', email).as('email'),
        ])
        .where('kind', '=', 'reset')
        .where('at', '>', since)
        .where((eb) => eb.or([eb('ip', '=', ip), eb('email', '=', email)]))
        .executeTakeFirstOrThrow();
      if (Number(counts.ip) >= RESET_LIMITS.perIp) return true;
      await trx.deleteFrom('public_attempts').where('at', '<', addMinutes(now, -ATTEMPT_RETENTION_MINUTES)).execute();
      await trx
        .insertInto('public_attempts')
        .values({ kind: 'reset', email, email_domain: email.split('@')[1] ?? '', ip, at: now })
        .execute();
      // Over the address's limit, unknown or disabled: the same answer, and no mail.
      if (Number(counts.email) >= RESET_LIMITS.perEmail) return false;
      const user = await trx
        .selectFrom('users')
        .select(['id', 'email', 'disabled_at'])
        .where('email', '=', email)
        .executeTakeFirst();
      if (!user || user.disabled_at) return false;
      if (!this.deps.notices) throw new Error('password reset needs the notices outbox');
      const token = randomSecret();
      const expiresAt = addMinutes(now, RESET_LINK_MINUTES);
      const row = await trx
        .insertInto('one_time_tokens')
        .values({ purpose: 'reset', token_hash: sha256(token), user_id: user.id, expires_at: expiresAt })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.deps.notices.enqueue(trx, {
        key: 'password_reset',
        to: user.email,
        vars: {
          email: user.email,
          url: `${this.deps.publicUrl}/reset#${token}`,
          expires_at: expiresAt.toISOString(),
          expiresMinutes: RESET_LINK_MINUTES,
        },
        dedupeKey: `password_reset:${row.id}`,
      });
      await this.deps.audit.record(
        { actor: null, ip: ctx.ip, label: user.email },
        { action: 'user.request_reset', target: { type: 'user', id: user.id, label: user.email } },
        trx,
      );
      return false;
    });
    // The client's limit says nothing about any account, so it can be said plainly.
    if (limited) {
      throw new MarinaError(
        'MARINA_E_RATE_LIMITED',
        'Too many password reset requests from your address; try again in an hour.',
        { retryAfterSeconds: RESET_LIMITS.windowMinutes * 60 },
      );
    }
  }

  /**
   * Sets the new password with a link from `request`: the link is used up, every session of the
   * account ends (whoever knew the old password is out), and this browser is signed in.
   */
  async complete(
    ctx: AnonymousContext,
    input: { token: unknown; password: unknown },
    userAgent: string | null,
  ): Promise<LoginResult> {
    const now = this.deps.clock.now();
    if (typeof input.token !== 'string' || input.token.length === 0 || input.token.length > 100) {
      throw new MarinaError('MARINA_E_INVALID_TOKEN', INVALID_LINK);
    }
    const link = await this.deps.db
      .selectFrom('one_time_tokens')
      .innerJoin('users', 'users.id', 'one_time_tokens.user_id')
      .select(['one_time_tokens.id', 'users.email', 'users.disabled_at'])
      .where('one_time_tokens.token_hash', '=', sha256(input.token))
      .where('one_time_tokens.purpose', '=', 'reset')
      .where('one_time_tokens.used_at', 'is', null)
      .where('one_time_tokens.expires_at', '>', now)
      .executeTakeFirst();
    if (!link || link.disabled_at) throw new MarinaError('MARINA_E_INVALID_TOKEN', INVALID_LINK);
    const passwordHash = await hashPassword(requireStrongPassword(input.password, link.email));
    return this.deps.db.transaction().execute(async (trx) => {
      // Claimed with a conditional update: of two uses of one link, one wins.
      const claimed = await trx
        .updateTable('one_time_tokens')
        .set({ used_at: now })
        .where('id', '=', link.id)
        .where('used_at', 'is', null)
        .returning('user_id')
        .executeTakeFirst();
      if (!claimed?.user_id) throw new MarinaError('MARINA_E_INVALID_TOKEN', INVALID_LINK);
      const userId = claimed.user_id;
      // The other links of the account stop working too.
      await trx
        .updateTable('one_time_tokens')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('purpose', '=', 'reset')
        .where('used_at', 'is', null)
        .execute();
      const user = await trx
        .updateTable('users')
        .set((eb) => ({
          password_hash: passwordHash,
          password_changed_at: now,
          // The link reached the mailbox: the address is proven.
          email_verified_at: eb.fn.coalesce('email_verified_at', eb.val(now)),
        }))
        .where('id', '=', userId)
        .returningAll()
        .executeTakeFirstOrThrow();
      const ended = await trx
        .updateTable('sessions')
        .set({ ended_at: now })
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      await this.deps.audit.record(
        { actor: asActor(user), ip: ctx.ip },
        {
          action: 'user.reset_password',
          target: { type: 'user', id: user.id, label: user.email },
          details: { sessionsEnded: Number(ended.numUpdatedRows) },
        },
        trx,
      );
      return this.deps.auth.openSession(trx, user, ctx, userAgent);
    });
  }
}

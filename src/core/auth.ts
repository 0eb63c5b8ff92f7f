import type { MarinaConfig } from '../config.js';
import type { Db } from '../db/database.js';
import { MarinaError } from '../errors.js';
import type { AuditService } from './audit.js';
import { addMinutes, type Clock } from './clock.js';
import type { AnonymousContext, UserActor } from './context.js';
import { hashPassword, requireStrongPassword, verifyPassword } from './passwords.js';
import { randomSecret, safeEqual, sha256 } from './secrets.js';
import { type UserView, userView } from './users.js';
import { limits, patterns } from './validation.js';

export const SESSION_COOKIE = 'marina_session';

export interface LoginResult {
  user: UserView;
  sessionSecret: string;
  csrfToken: string;
  expiresAt: Date;
}

export interface AuthenticatedSession {
  actor: UserActor;
  csrfToken: string;
  expiresAt: Date;
}

/** Email addresses are compared case-insensitively and trimmed, the way they are stored. */
const attemptKey = (email: unknown) =>
  typeof email === 'string' ? email.trim().toLowerCase().slice(0, limits.email) : '';

export class AuthService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly config: Pick<MarinaConfig, 'session' | 'login'>,
  ) {}

  /**
   * Sign-in with two brakes: per IP address (too many attempts of any kind → rate limited) and per
   * email address (too many failures in a row → locked for a while). Both are counted in the
   * database, so they hold across restarts and do not reveal whether an account exists.
   */
  async login(
    ctx: AnonymousContext,
    input: { email: unknown; password: unknown },
    userAgent: string | null,
  ): Promise<LoginResult> {
    const now = this.clock.now();
    const ip = ctx.ip ?? 'unknown';
    const email = attemptKey(input.email);
    const password = typeof input.password === 'string' ? input.password : '';
    if (!new RegExp(patterns.email).test(email) || password.length === 0) {
      throw new MarinaError('MARINA_E_VALIDATION', 'Send an email address and a password.', { field: 'email' });
    }
    const { ipMaxAttempts, ipWindowMinutes, maxFailures, lockMinutes } = this.config.login;

    const recentFromIp = await this.db
      .selectFrom('login_attempts')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('ip', '=', ip)
      .where('at', '>', addMinutes(now, -ipWindowMinutes))
      .executeTakeFirstOrThrow();
    if (Number(recentFromIp.count) >= ipMaxAttempts) {
      throw new MarinaError(
        'MARINA_E_RATE_LIMITED',
        'Too many sign-in attempts from your address; wait a few minutes.',
        {
          retryAfterSeconds: ipWindowMinutes * 60,
        },
      );
    }

    const lockedUntil = await this.lockedUntil(email, now, maxFailures, lockMinutes);
    if (lockedUntil) {
      await this.recordAttempt(email, ip, false, now);
      throw new MarinaError('MARINA_E_ACCOUNT_LOCKED', undefined, {
        retryAfterSeconds: Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000),
      });
    }

    const user = await this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    const ok = await verifyPassword(user?.password_hash, password);
    await this.recordAttempt(email, ip, ok, now);
    if (!user || !ok) {
      await this.audit.record(
        { actor: null, ip: ctx.ip, label: email },
        { action: 'auth.login_failed', target: user ? { type: 'user', id: user.id, label: user.email } : undefined },
      );
      throw new MarinaError('MARINA_E_INVALID_CREDENTIALS');
    }

    const sessionSecret = randomSecret();
    const csrfToken = randomSecret();
    const expiresAt = addMinutes(now, this.config.session.maxAgeHours * 60);
    await this.db.transaction().execute(async (trx) => {
      const session = await trx
        .insertInto('sessions')
        .values({
          token_hash: sha256(sessionSecret),
          user_id: user.id,
          csrf_token: csrfToken,
          created_at: now,
          last_seen_at: now,
          expires_at: expiresAt,
          ip: ctx.ip,
          user_agent: userAgent?.slice(0, 300) ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.audit.record(
        {
          actor: {
            kind: 'user',
            userId: user.id,
            email: user.email,
            isPlatformAdmin: user.is_platform_admin,
            via: 'session',
          },
          ip: ctx.ip,
        },
        { action: 'auth.login', target: { type: 'session', id: session.id, label: user.email } },
        trx,
      );
    });
    return { user: userView(user), sessionSecret, csrfToken, expiresAt };
  }

  private async lockedUntil(
    email: string,
    now: Date,
    maxFailures: number,
    lockMinutes: number,
  ): Promise<Date | undefined> {
    // Failures after the last success (by insertion order), within the lock window; N of them lock the account.
    const lastSuccess = await this.db
      .selectFrom('login_attempts')
      .select('id')
      .where('email', '=', email)
      .where('succeeded', '=', true)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    let failuresQuery = this.db
      .selectFrom('login_attempts')
      .select('at')
      .where('email', '=', email)
      .where('succeeded', '=', false)
      .where('at', '>', addMinutes(now, -lockMinutes));
    if (lastSuccess) failuresQuery = failuresQuery.where('id', '>', lastSuccess.id);
    const failures = await failuresQuery.orderBy('id', 'desc').limit(maxFailures).execute();
    if (failures.length < maxFailures) return undefined;
    const last = failures[0];
    return last ? addMinutes(last.at, lockMinutes) : undefined;
  }

  private async recordAttempt(email: string, ip: string, succeeded: boolean, at: Date): Promise<void> {
    await this.db.insertInto('login_attempts').values({ email, ip, succeeded, at }).execute();
  }

  /** Resolves a session cookie. Sessions end on logout, after the idle timeout, or at their maximum age. */
  async authenticateSession(secret: string): Promise<AuthenticatedSession> {
    if (secret.length > 100) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id',
        'sessions.csrf_token',
        'sessions.expires_at',
        'sessions.last_seen_at',
        'sessions.ended_at',
        'users.id as user_id',
        'users.email',
        'users.is_platform_admin',
      ])
      .where('sessions.token_hash', '=', sha256(secret))
      .executeTakeFirst();
    if (!row || row.ended_at)
      throw new MarinaError('MARINA_E_UNAUTHENTICATED', 'Your session has ended; sign in again.');
    const now = this.clock.now();
    const idleLimit = addMinutes(row.last_seen_at, this.config.session.idleMinutes);
    if (row.expires_at <= now || idleLimit <= now) throw new MarinaError('MARINA_E_SESSION_EXPIRED');
    // One write a minute at most per session keeps the idle timer honest without a write per request.
    if (now.getTime() - row.last_seen_at.getTime() > 60_000) {
      await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', row.id).execute();
    }
    return {
      actor: {
        kind: 'user',
        userId: row.user_id,
        email: row.email,
        isPlatformAdmin: row.is_platform_admin,
        via: 'session',
        sessionId: row.id,
      },
      csrfToken: row.csrf_token,
      expiresAt: row.expires_at,
    };
  }

  checkCsrf(session: AuthenticatedSession, sent: string | undefined): void {
    if (!sent || !safeEqual(sent, session.csrfToken)) throw new MarinaError('MARINA_E_CSRF');
  }

  async logout(ctx: { actor: UserActor; ip: string | null }): Promise<void> {
    const sessionId = ctx.actor.sessionId;
    if (!sessionId) return;
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('sessions').set({ ended_at: this.clock.now() }).where('id', '=', sessionId).execute();
      await this.audit.record(
        ctx,
        { action: 'auth.logout', target: { type: 'session', id: sessionId, label: ctx.actor.email } },
        trx,
      );
    });
  }

  /** Invitations: a one-time link lets a new member choose their password. */
  async acceptInvite(
    ctx: AnonymousContext,
    input: { token: unknown; password: unknown; name?: unknown },
  ): Promise<UserView> {
    if (typeof input.token !== 'string' || input.token.length > 100) {
      throw new MarinaError('MARINA_E_VALIDATION', 'The invitation link is incomplete.', { field: 'token' });
    }
    const now = this.clock.now();
    const invite = await this.db
      .selectFrom('one_time_tokens')
      .innerJoin('users', 'users.id', 'one_time_tokens.user_id')
      .select([
        'one_time_tokens.id',
        'one_time_tokens.expires_at',
        'one_time_tokens.used_at',
        'users.id as user_id',
        'users.email',
      ])
      .where('one_time_tokens.token_hash', '=', sha256(input.token))
      .where('one_time_tokens.purpose', '=', 'invite')
      .executeTakeFirst();
    if (!invite || invite.used_at || invite.expires_at <= now) {
      throw new MarinaError(
        'MARINA_E_NOT_FOUND',
        'This invitation link is invalid, expired or already used; ask for a new one.',
      );
    }
    const password = requireStrongPassword(input.password, invite.email);
    const passwordHash = await hashPassword(password);
    return this.db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('one_time_tokens')
        .set({ used_at: now })
        .where('id', '=', invite.id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (claimed.numUpdatedRows === 0n)
        throw new MarinaError('MARINA_E_NOT_FOUND', 'This invitation link was already used.');
      const user = await trx
        .updateTable('users')
        .set({ password_hash: passwordHash, password_changed_at: now })
        .where('id', '=', invite.user_id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.audit.record(
        {
          actor: {
            kind: 'user',
            userId: user.id,
            email: user.email,
            isPlatformAdmin: user.is_platform_admin,
            via: 'session',
          },
          ip: ctx.ip,
        },
        { action: 'user.invite_accept', target: { type: 'user', id: user.id, label: user.email } },
        trx,
      );
      return userView(user);
    });
  }
}

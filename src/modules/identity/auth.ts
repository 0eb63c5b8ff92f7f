import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { User } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import { addMinutes, type Clock } from '../../platform/clock.js';
import type { AnonymousContext, UserActor } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { randomSecret, safeEqual, sha256 } from '../../platform/secrets/secrets.js';
import { limits, patterns } from '../../platform/validation.js';
import { CredentialCache } from './credential-cache.js';
import { verifyPassword } from './passwords.js';
import { type UserView, userView } from './users.js';

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

/** Sign-in attempts are kept this long; the per-account backoff looks back as far. */
const ATTEMPT_RETENTION_MINUTES = 24 * 60;

/**
 * The wait after `failures` failures of which `free` cost nothing: one minute after the first
 * costly one, doubling with each further one, capped.
 */
export function backoffSeconds(failures: number, free: number, maxDelayMinutes: number): number {
  if (failures < free) return 0;
  return Math.min(maxDelayMinutes * 60, 60 * 2 ** Math.min(failures - free, 20));
}

/** Email addresses are compared case-insensitively and trimmed, the way they are stored. */
const attemptKey = (email: unknown) =>
  typeof email === 'string' ? email.trim().toLowerCase().slice(0, limits.email) : '';

export interface AuthServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  config: Pick<MarinaConfig, 'session' | 'login'>;
}

export class AuthService {
  private readonly sessionCache = new CredentialCache<NonNullable<Awaited<ReturnType<AuthService['lookUpSession']>>>>();

  constructor(private readonly deps: AuthServiceDeps) {}

  /**
   * Sign-in with two brakes, both a backoff rather than a lock: failures from one address for one
   * account, and failures from one address for any account, make that address wait (longer with
   * each further failure). Nobody can lock an account out: a right password from an address that
   * did not fail always works. Attempts are counted in the database, so the brakes hold across
   * restarts, and unknown emails are answered the same way, so they reveal no accounts.
   */
  async login(
    ctx: AnonymousContext,
    input: { email: unknown; password: unknown },
    userAgent: string | null,
  ): Promise<LoginResult> {
    const now = this.deps.clock.now();
    const ip = ctx.ip ?? 'unknown';
    const email = attemptKey(input.email);
    const password = typeof input.password === 'string' ? input.password : '';
    if (!new RegExp(patterns.email).test(email) || password.length === 0) {
      throw new MarinaError('MARINA_E_VALIDATION', 'Send an email address and a password.', { field: 'email' });
    }
    await this.requireNotSlowed(email, ip, now);
    await this.deps.db
      .deleteFrom('login_attempts')
      .where('at', '<', addMinutes(now, -ATTEMPT_RETENTION_MINUTES))
      .execute();
    // Recorded as a failure before the password is checked, so parallel guesses count each other.
    const attempt = await this.deps.db
      .insertInto('login_attempts')
      .values({ email, ip, succeeded: false, at: now })
      .returning('id')
      .executeTakeFirstOrThrow();

    const user = await this.deps.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    const ok = await verifyPassword(user?.password_hash, password);
    if (ok)
      await this.deps.db.updateTable('login_attempts').set({ succeeded: true }).where('id', '=', attempt.id).execute();
    if (!user || !ok) {
      await this.deps.audit.record(
        { actor: null, ip: ctx.ip, label: email },
        { action: 'user.login_failed', target: user ? { type: 'user', id: user.id, label: user.email } : undefined },
      );
      throw new MarinaError('MARINA_E_INVALID_CREDENTIALS');
    }
    // Said only to someone who knows the password: a guesser learns nothing about the account.
    if (user.disabled_at) {
      await this.deps.audit.record(
        { actor: null, ip: ctx.ip, label: email },
        {
          action: 'user.login_refused',
          target: { type: 'user', id: user.id, label: user.email },
          details: { reason: 'disabled' },
        },
      );
      throw new MarinaError('MARINA_E_ACCOUNT_DISABLED');
    }

    return this.deps.db.transaction().execute((trx) => this.openSession(trx, user, ctx, userAgent));
  }

  /**
   * A new session for someone who proved who they are (a password, an accepted invitation, a reset
   * link, a verified sign-up, an external provider), recorded as `session.login` in the same
   * transaction. The caller has checked that the account is not disabled.
   */
  async openSession(trx: Db, user: User, ctx: AnonymousContext, userAgent: string | null): Promise<LoginResult> {
    const now = this.deps.clock.now();
    const sessionSecret = randomSecret();
    const csrfToken = randomSecret();
    const expiresAt = addMinutes(now, this.deps.config.session.maxAgeHours * 60);
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
    await this.deps.audit.record(
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
      { action: 'session.login', target: { type: 'session', id: session.id, label: user.email } },
      trx,
    );
    return { user: userView(user), sessionSecret, csrfToken, expiresAt };
  }

  /** Throws 429 with Retry-After while this address must wait, per account and overall. */
  private async requireNotSlowed(email: string, ip: string, now: Date): Promise<void> {
    const { maxFailures, maxDelayMinutes, ipMaxFailures, ipWindowMinutes } = this.deps.config.login;
    const waitUntil = (count: string | number, last: Date | string | null, free: number): number => {
      const delay = backoffSeconds(Number(count), free, maxDelayMinutes);
      if (delay === 0 || last === null) return 0;
      return Math.ceil((new Date(last).getTime() + delay * 1000 - now.getTime()) / 1000);
    };

    const fromIp = await this.deps.db
      .selectFrom('login_attempts')
      .select((eb) => [eb.fn.countAll<string>().as('count'), eb.fn.max('at').as('last')])
      .where('ip', '=', ip)
      .where('succeeded', '=', false)
      .where('at', '>', addMinutes(now, -ipWindowMinutes))
      .executeTakeFirstOrThrow();
    const ipWait = waitUntil(fromIp.count, fromIp.last, ipMaxFailures);
    if (ipWait > 0) {
      throw new MarinaError(
        'MARINA_E_RATE_LIMITED',
        `Too many failed sign-ins from your address; wait ${ipWait} seconds before trying again.`,
        { retryAfterSeconds: ipWait },
      );
    }

    // For one account from one address, only the failures since that address last got in count.
    const lastSuccess = await this.deps.db
      .selectFrom('login_attempts')
      .select((eb) => eb.fn.max('id').as('id'))
      .where('email', '=', email)
      .where('ip', '=', ip)
      .where('succeeded', '=', true)
      .executeTakeFirst();
    let pairQuery = this.deps.db
      .selectFrom('login_attempts')
      .select((eb) => [eb.fn.countAll<string>().as('count'), eb.fn.max('at').as('last')])
      .where('email', '=', email)
      .where('ip', '=', ip)
      .where('succeeded', '=', false)
      .where('at', '>', addMinutes(now, -ATTEMPT_RETENTION_MINUTES));
    if (lastSuccess?.id) pairQuery = pairQuery.where('id', '>', lastSuccess.id);
    const pair = await pairQuery.executeTakeFirstOrThrow();
    const pairWait = waitUntil(pair.count, pair.last, maxFailures);
    if (pairWait > 0) {
      throw new MarinaError(
        'MARINA_E_SIGNIN_SLOWED',
        `Too many failed sign-ins for this account from your address; wait ${pairWait} seconds before trying again.`,
        { retryAfterSeconds: pairWait },
      );
    }
  }

  private lookUpSession(hash: string) {
    return this.deps.db
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
        'users.disabled_at',
        'sessions.impersonating_organization_id',
      ])
      .where('sessions.token_hash', '=', hash)
      .executeTakeFirst();
  }

  /** Resolves a session cookie. Sessions end on logout, after the idle timeout, or at their maximum age. */
  async authenticateSession(secret: string): Promise<AuthenticatedSession> {
    if (secret.length > 100) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
    const hash = sha256(secret);
    const row = await this.sessionCache.get(hash, () => this.lookUpSession(hash));
    if (!row || row.ended_at || row.disabled_at)
      throw new MarinaError('MARINA_E_UNAUTHENTICATED', 'Your session has ended; sign in again.');
    const now = this.deps.clock.now();
    const idleLimit = addMinutes(row.last_seen_at, this.deps.config.session.idleMinutes);
    if (row.expires_at <= now || idleLimit <= now) throw new MarinaError('MARINA_E_SESSION_EXPIRED');
    // One write a minute at most per session keeps the idle timer honest without a write per request.
    if (now.getTime() - row.last_seen_at.getTime() > 60_000) {
      await this.deps.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', row.id).execute();
      this.sessionCache.update(hash, (kept) => ({ ...kept, last_seen_at: now }));
    }
    // Support "opened as" an organization: that organization only, as its owner sees it, read-only;
    // and only while the account is still a platform admin.
    const impersonating = row.impersonating_organization_id;
    if (impersonating && !row.is_platform_admin)
      throw new MarinaError('MARINA_E_UNAUTHENTICATED', 'Your session has ended; sign in again.');
    return {
      actor: {
        kind: 'user',
        userId: row.user_id,
        email: row.email,
        isPlatformAdmin: impersonating ? false : row.is_platform_admin,
        via: 'session',
        sessionId: row.id,
        ...(impersonating ? { organizationId: impersonating, readOnly: true, impersonatedBy: row.user_id } : {}),
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
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('sessions').set({ ended_at: this.deps.clock.now() }).where('id', '=', sessionId).execute();
      await this.deps.audit.record(
        ctx,
        { action: 'session.logout', target: { type: 'session', id: sessionId, label: ctx.actor.email } },
        trx,
      );
    });
  }
}

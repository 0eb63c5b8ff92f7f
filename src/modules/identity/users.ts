import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { User } from '../../db/schema.js';
import { requireUnrestricted, requireUser } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext, UserActor } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { limits, normalizeEmail, requireLabel } from '../../platform/validation.js';
import { hashPassword, requireStrongPassword, verifyPassword } from './passwords.js';
import type { User as UserSchema } from './schemas.js';

/** A user as the API answers it (the `User` schema). */
export type UserView = Static<typeof UserSchema>;

/** The mail templates' locale form (src/modules/notices/templates.ts). */
const PROFILE_LOCALE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;

export const userView = (user: User): UserView => ({
  id: user.id,
  email: user.email,
  name: user.name,
  locale: user.locale,
  isPlatformAdmin: user.is_platform_admin,
  createdAt: user.created_at.toISOString(),
});

/** The account as the actor of what it does itself (accepting, resetting), before it has a session. */
export const asActor = (user: User): UserActor => ({
  kind: 'user',
  userId: user.id,
  email: user.email,
  isPlatformAdmin: user.is_platform_admin,
  via: 'session',
});

export const defaultName = (email: string): string => email.split('@')[0] ?? email;

export interface UserServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  async get(id: string): Promise<User | undefined> {
    return this.deps.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async hasPlatformAdmin(): Promise<boolean> {
    const row = await this.deps.db
      .selectFrom('users')
      .select('id')
      .where('is_platform_admin', '=', true)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** `marina admin create` and the first-run setup page: a platform administrator with a password. */
  async createPlatformAdmin(
    ctx: RequestContext,
    input: { email: unknown; password: unknown; name?: unknown },
  ): Promise<UserView> {
    const email = normalizeEmail(input.email);
    const password = requireStrongPassword(input.password, email);
    const name =
      input.name === undefined || input.name === ''
        ? defaultName(email)
        : requireLabel(input.name, 'name', limits.name);
    const passwordHash = await hashPassword(password);
    return this.deps.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
      if (existing)
        throw new MarinaError('MARINA_E_CONFLICT', `A user with the email ${email} already exists.`, {
          field: 'email',
        });
      const user = await trx
        .insertInto('users')
        .values({
          email,
          name,
          password_hash: passwordHash,
          is_platform_admin: true,
          password_changed_at: this.deps.clock.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        { action: 'user.create_admin', target: { type: 'user', id: user.id, label: email } },
        trx,
      );
      return userView(user);
    });
  }

  /**
   * The signed-in person's own name and language (the language of the mails Marina sends them).
   * Only what is given changes; the audit trail keeps before and after.
   */
  async updateProfile(ctx: RequestContext, input: { name?: unknown; locale?: unknown }): Promise<UserView> {
    const actor = requireUser(ctx.actor);
    requireUnrestricted(actor);
    const change: { name?: string; locale?: string } = {};
    if (input.name !== undefined) change.name = requireLabel(input.name, 'name', limits.name);
    if (input.locale !== undefined) {
      if (typeof input.locale !== 'string' || !PROFILE_LOCALE.test(input.locale))
        throw new MarinaError('MARINA_E_VALIDATION', 'locale is a language code such as en, fr or pt-BR.', {
          field: 'locale',
        });
      change.locale = input.locale;
    }
    return this.deps.db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('users')
        .selectAll()
        .where('id', '=', actor.userId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (Object.keys(change).length === 0) return userView(before);
      const user = await trx
        .updateTable('users')
        .set(change)
        .where('id', '=', actor.userId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'user.update_profile',
          target: { type: 'user', id: user.id, label: user.email },
          details: { before: { name: before.name, locale: before.locale }, after: change },
        },
        trx,
      );
      return userView(user);
    });
  }

  /**
   * An account whose address is already proven (a verified sign-up, an external provider's verified
   * email), in the caller's transaction; the caller records what made it. `passwordHash` null: the
   * account signs in only through its provider until a password is set (reset link).
   */
  async createVerified(
    trx: Db,
    input: { email: string; passwordHash: string | null; name: string; locale?: string },
  ): Promise<User> {
    const email = normalizeEmail(input.email);
    const now = this.deps.clock.now();
    const user = await trx
      .insertInto('users')
      .values({
        email,
        name: requireLabel(input.name, 'name', limits.name),
        password_hash: input.passwordHash,
        password_changed_at: input.passwordHash ? now : null,
        email_verified_at: now,
        ...(input.locale ? { locale: input.locale } : {}),
      })
      .onConflict((oc) => oc.column('email').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!user)
      throw new MarinaError('MARINA_E_CONFLICT', `A user with the email ${email} already exists.`, { field: 'email' });
    return user;
  }

  /**
   * Changing one's password ends every other session of that user. API tokens stay unless
   * `revokeTokens` is true (the UI asks): a password change after a leak may need both gone.
   */
  async changePassword(
    ctx: RequestContext,
    input: { currentPassword: unknown; newPassword: unknown; revokeTokens?: unknown },
  ): Promise<void> {
    const actor = requireUser(ctx.actor);
    requireUnrestricted(actor);
    if (input.revokeTokens !== undefined && typeof input.revokeTokens !== 'boolean') {
      throw new MarinaError('MARINA_E_VALIDATION', 'revokeTokens must be true or false.', { field: 'revokeTokens' });
    }
    const user = await this.get(actor.userId);
    if (!user) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
    if (
      typeof input.currentPassword !== 'string' ||
      !(await verifyPassword(user.password_hash, input.currentPassword))
    ) {
      // 400, not 401: the session is fine, only the form is wrong.
      throw new MarinaError('MARINA_E_VALIDATION', 'The current password is wrong.', { field: 'currentPassword' });
    }
    const password = requireStrongPassword(input.newPassword, user.email, 'newPassword');
    if (password === input.currentPassword) {
      throw new MarinaError('MARINA_E_VALIDATION', 'The new password must differ from the current one.', {
        field: 'newPassword',
      });
    }
    const passwordHash = await hashPassword(password);
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ password_hash: passwordHash, password_changed_at: now })
        .where('id', '=', user.id)
        .execute();
      let others = trx
        .updateTable('sessions')
        .set({ ended_at: now })
        .where('user_id', '=', user.id)
        .where('ended_at', 'is', null);
      if (actor.sessionId) others = others.where('id', '!=', actor.sessionId);
      const ended = await others.executeTakeFirst();
      const revoked =
        input.revokeTokens === true
          ? Number(
              (await trx.deleteFrom('api_tokens').where('user_id', '=', user.id).executeTakeFirst()).numDeletedRows,
            )
          : 0;
      await this.deps.audit.record(
        ctx,
        {
          action: 'user.change_password',
          target: { type: 'user', id: user.id, label: user.email },
          details: { otherSessionsEnded: Number(ended.numUpdatedRows), tokensRevoked: revoked },
        },
        trx,
      );
    });
  }
}

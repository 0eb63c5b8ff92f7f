import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { User } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { isUuid } from '../../platform/validation.js';
import type { Account } from './schemas.js';

/** An account as platform admins manage it. */
export type AccountView = Static<typeof Account>;

const view = (user: User, organizationCount: number): AccountView => ({
  id: user.id,
  email: user.email,
  name: user.name,
  isPlatformAdmin: user.is_platform_admin,
  createdAt: user.created_at.toISOString(),
  disabled: user.disabled_at !== null,
  disabledAt: user.disabled_at?.toISOString() ?? null,
  organizationCount,
});

export interface AccountServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

/** Accounts across organizations: listed, disabled and enabled by platform admins only. */
export class AccountService {
  constructor(private readonly deps: AccountServiceDeps) {}

  async list(actor: Actor): Promise<AccountView[]> {
    requirePlatformAdmin(actor);
    const rows = await this.deps.db
      .selectFrom('users as u')
      .selectAll('u')
      .select((eb) =>
        eb
          .selectFrom('memberships as m')
          .select((e) => e.fn.countAll<string>().as('n'))
          .whereRef('m.user_id', '=', 'u.id')
          .as('organization_count'),
      )
      .orderBy('u.email')
      .execute();
    return rows.map((r) => view(r, Number(r.organization_count ?? 0)));
  }

  /**
   * Disabling ends every session and revokes every API token of the account in the same
   * transaction, and authentication refuses a disabled account anyway: nothing it held works on.
   */
  async disable(ctx: RequestContext, userId: string): Promise<AccountView> {
    requirePlatformAdmin(ctx.actor);
    if (ctx.actor.kind === 'user' && ctx.actor.userId === userId) {
      throw new MarinaError('MARINA_E_CONFLICT', 'You cannot disable your own account.');
    }
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const user = await this.forChange(trx, userId);
      if (user.disabled_at) return view(user, await this.organizationCount(trx, user.id));
      const updated = await trx
        .updateTable('users')
        .set({ disabled_at: now })
        .where('id', '=', user.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const sessions = await trx
        .updateTable('sessions')
        .set({ ended_at: now })
        .where('user_id', '=', user.id)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      const tokens = await trx
        .updateTable('api_tokens')
        .set({ revoked_at: now })
        .where('user_id', '=', user.id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      await this.deps.audit.record(
        ctx,
        {
          action: 'user.disable',
          target: { type: 'user', id: user.id, label: user.email },
          details: { sessionsEnded: Number(sessions.numUpdatedRows), tokensRevoked: Number(tokens.numUpdatedRows) },
        },
        trx,
      );
      return view(updated, await this.organizationCount(trx, user.id));
    });
  }

  /** Lets the account sign in again; sessions and tokens ended by disabling stay ended. */
  async enable(ctx: RequestContext, userId: string): Promise<AccountView> {
    requirePlatformAdmin(ctx.actor);
    return this.deps.db.transaction().execute(async (trx) => {
      const user = await this.forChange(trx, userId);
      if (!user.disabled_at) return view(user, await this.organizationCount(trx, user.id));
      const updated = await trx
        .updateTable('users')
        .set({ disabled_at: null })
        .where('id', '=', user.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'user.enable',
          target: { type: 'user', id: user.id, label: user.email },
          details: { disabledSince: user.disabled_at.toISOString() },
        },
        trx,
      );
      return view(updated, await this.organizationCount(trx, user.id));
    });
  }

  private async forChange(trx: Db, userId: string): Promise<User> {
    if (!isUuid(userId)) throw notFound('User');
    const user = await trx.selectFrom('users').selectAll().where('id', '=', userId).forUpdate().executeTakeFirst();
    if (!user) throw notFound('User');
    return user;
  }

  private async organizationCount(trx: Db, userId: string): Promise<number> {
    const row = await trx
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

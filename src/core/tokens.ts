import type { Db } from '../db/database.js';
import type { ApiToken } from '../db/schema.js';
import { MarinaError, notFound } from '../errors.js';
import { requireUser } from './access.js';
import type { AuditService } from './audit.js';
import { addMinutes, type Clock } from './clock.js';
import type { RequestContext, UserActor } from './context.js';
import { randomSecret, sha256 } from './secrets.js';
import { isUuid, limits, requireLabel } from './validation.js';

/** Tokens look like `mrn_<43 chars>`: the prefix makes leaked ones easy to spot by secret scanners. */
export const TOKEN_PREFIX = 'mrn_';
const TOKEN_PATTERN = /^mrn_[A-Za-z0-9_-]{43}$/;

export interface TokenView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

const view = (t: ApiToken): TokenView => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: t.created_at.toISOString(),
  lastUsedAt: t.last_used_at?.toISOString() ?? null,
  expiresAt: t.expires_at?.toISOString() ?? null,
  revokedAt: t.revoked_at?.toISOString() ?? null,
});

export class TokenService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /** The secret is returned here once and never again: only its SHA-256 is stored. */
  async create(
    ctx: RequestContext,
    input: { name: unknown; expiresInDays?: unknown },
  ): Promise<{ token: TokenView; secret: string }> {
    const actor = requireUser(ctx.actor);
    const name = requireLabel(input.name, 'name', limits.tokenName);
    let expiresAt: Date | null = null;
    if (input.expiresInDays !== undefined && input.expiresInDays !== null) {
      const days = input.expiresInDays;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 3650) {
        throw new MarinaError('MARINA_E_VALIDATION', 'expiresInDays must be a whole number of days from 1 to 3650.', {
          field: 'expiresInDays',
        });
      }
      expiresAt = addMinutes(this.clock.now(), days * 24 * 60);
    }
    const secret = `${TOKEN_PREFIX}${randomSecret(32)}`;
    return this.db.transaction().execute(async (trx) => {
      const token = await trx
        .insertInto('api_tokens')
        .values({
          user_id: actor.userId,
          name,
          token_hash: sha256(secret),
          prefix: secret.slice(0, 12),
          expires_at: expiresAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.audit.record(
        ctx,
        { action: 'token.create', target: { type: 'api_token', id: token.id, label: name } },
        trx,
      );
      return { token: view(token), secret };
    });
  }

  async list(ctx: RequestContext): Promise<TokenView[]> {
    const actor = requireUser(ctx.actor);
    const rows = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', actor.userId)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(view);
  }

  async revoke(ctx: RequestContext, id: string): Promise<TokenView> {
    const actor = requireUser(ctx.actor);
    if (!isUuid(id)) throw notFound('API token');
    return this.db.transaction().execute(async (trx) => {
      const token = await trx
        .selectFrom('api_tokens')
        .selectAll()
        .where('id', '=', id)
        .where('user_id', '=', actor.userId)
        .executeTakeFirst();
      if (!token) throw notFound('API token');
      if (token.revoked_at) return view(token);
      const revoked = await trx
        .updateTable('api_tokens')
        .set({ revoked_at: this.clock.now() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.audit.record(
        ctx,
        { action: 'token.revoke', target: { type: 'api_token', id, label: token.name } },
        trx,
      );
      return view(revoked);
    });
  }

  async authenticate(secret: string): Promise<UserActor> {
    if (!TOKEN_PATTERN.test(secret)) throw new MarinaError('MARINA_E_INVALID_TOKEN');
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id',
        'api_tokens.expires_at',
        'api_tokens.revoked_at',
        'api_tokens.last_used_at',
        'users.id as user_id',
        'users.email',
        'users.is_platform_admin',
      ])
      .where('api_tokens.token_hash', '=', sha256(secret))
      .executeTakeFirst();
    const now = this.clock.now();
    if (!row || row.revoked_at || (row.expires_at && row.expires_at <= now))
      throw new MarinaError('MARINA_E_INVALID_TOKEN');
    if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
      await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
    }
    return {
      kind: 'user',
      userId: row.user_id,
      email: row.email,
      isPlatformAdmin: row.is_platform_admin,
      via: 'token',
      tokenId: row.id,
    };
  }
}

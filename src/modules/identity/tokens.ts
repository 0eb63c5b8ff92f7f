import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { ApiToken } from '../../db/schema.js';
import { requireUnrestricted, requireUser } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import { addMinutes, type Clock } from '../../platform/clock.js';
import type { RequestContext, UserActor } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { randomSecret, sha256 } from '../../platform/secrets/secrets.js';
import { isUuid, limits, requireLabel } from '../../platform/validation.js';
import { CredentialCache } from './credential-cache.js';
import type { ApiToken as ApiTokenSchema } from './schemas.js';

/** Tokens look like `mrn_<43 chars>`: the prefix makes leaked ones easy to spot by secret scanners. */
export const TOKEN_PREFIX = 'mrn_';
const TOKEN_PATTERN = /^mrn_[A-Za-z0-9_-]{43}$/;

/** An API token, never its secret (the `ApiToken` schema). */
export type TokenView = Static<typeof ApiTokenSchema>;
type TokenOrganization = NonNullable<TokenView['organization']>;

const MAX_EXPIRY_DAYS = 3650;

const view = (t: ApiToken, organization: TokenOrganization | null): TokenView => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: t.created_at.toISOString(),
  lastUsedAt: t.last_used_at?.toISOString() ?? null,
  expiresAt: t.expires_at?.toISOString() ?? null,
  revokedAt: t.revoked_at?.toISOString() ?? null,
  scope: t.scope,
  organization,
});

export interface TokenServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

export class TokenService {
  private readonly cache = new CredentialCache<NonNullable<Awaited<ReturnType<TokenService['lookUp']>>>>();

  constructor(private readonly deps: TokenServiceDeps) {}

  /**
   * The secret is returned here once and never again: only its SHA-256 is stored. A token may be
   * read-only, limited to one organization the user belongs to (it then acts with the user's role
   * there and nothing more), and may expire (`expiresInDays` or `expiresAt`).
   */
  async create(
    ctx: RequestContext,
    input: { name: unknown; expiresInDays?: unknown; expiresAt?: unknown; scope?: unknown; organizationId?: unknown },
  ): Promise<{ token: TokenView; secret: string }> {
    const actor = requireUser(ctx.actor);
    requireUnrestricted(actor);
    const name = requireLabel(input.name, 'name', limits.tokenName);
    const now = this.deps.clock.now();
    const expiresAt = this.expiry(input, now);
    const scope = input.scope ?? 'write';
    if (scope !== 'read' && scope !== 'write' && scope !== 'metrics') {
      throw new MarinaError('MARINA_E_VALIDATION', 'scope must be "read", "write" or "metrics".', { field: 'scope' });
    }
    // Every organization's figures and the platform's: only for who may see them all anyway.
    if (scope === 'metrics' && (input.organizationId === undefined || input.organizationId === null)) {
      if (!actor.isPlatformAdmin)
        throw new MarinaError(
          'MARINA_E_VALIDATION',
          'A metrics token without an organization sees the whole platform: only platform admins may create one. Choose an organization.',
          { field: 'organizationId' },
        );
    }
    let organization: TokenOrganization | null = null;
    if (input.organizationId !== undefined && input.organizationId !== null) {
      const id = input.organizationId;
      // Membership, not platform rights: an organization token carries the role its user has there.
      const found =
        typeof id === 'string' && isUuid(id)
          ? await this.deps.db
              .selectFrom('organizations as o')
              .innerJoin('memberships as m', 'm.organization_id', 'o.id')
              .select(['o.id', 'o.slug', 'o.name'])
              .where('o.id', '=', id)
              .where('m.user_id', '=', actor.userId)
              .executeTakeFirst()
          : undefined;
      if (!found) {
        throw new MarinaError(
          'MARINA_E_VALIDATION',
          'organizationId must be an organization you are a member of: the token acts with your role there.',
          { field: 'organizationId' },
        );
      }
      organization = found;
    }
    const secret = `${TOKEN_PREFIX}${randomSecret(32)}`;
    return this.deps.db.transaction().execute(async (trx) => {
      const token = await trx
        .insertInto('api_tokens')
        .values({
          user_id: actor.userId,
          name,
          token_hash: sha256(secret),
          prefix: secret.slice(0, 12),
          expires_at: expiresAt,
          scope,
          organization_id: organization?.id ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'token.create',
          organizationId: organization?.id,
          target: { type: 'token', id: token.id, label: name },
          details: { scope, organization: organization?.slug ?? null, expiresAt: expiresAt?.toISOString() ?? null },
        },
        trx,
      );
      return { token: view(token, organization), secret };
    });
  }

  private expiry(input: { expiresInDays?: unknown; expiresAt?: unknown }, now: Date): Date | null {
    const latest = addMinutes(now, MAX_EXPIRY_DAYS * 24 * 60);
    if (input.expiresAt !== undefined && input.expiresAt !== null) {
      if (input.expiresInDays !== undefined && input.expiresInDays !== null) {
        throw new MarinaError('MARINA_E_VALIDATION', 'Send expiresAt or expiresInDays, not both.', {
          field: 'expiresAt',
        });
      }
      const at = typeof input.expiresAt === 'string' ? new Date(input.expiresAt) : new Date(Number.NaN);
      if (Number.isNaN(at.getTime()) || at <= now || at > latest) {
        throw new MarinaError(
          'MARINA_E_VALIDATION',
          `expiresAt must be a date and time in the future, at most ${MAX_EXPIRY_DAYS} days away.`,
          { field: 'expiresAt' },
        );
      }
      return at;
    }
    if (input.expiresInDays !== undefined && input.expiresInDays !== null) {
      const days = input.expiresInDays;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS) {
        throw new MarinaError(
          'MARINA_E_VALIDATION',
          `expiresInDays must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}.`,
          { field: 'expiresInDays' },
        );
      }
      return addMinutes(now, days * 24 * 60);
    }
    return null;
  }

  private withOrganization(db: Db) {
    return db
      .selectFrom('api_tokens')
      .leftJoin('organizations', 'organizations.id', 'api_tokens.organization_id')
      .selectAll('api_tokens')
      .select(['organizations.slug as organization_slug', 'organizations.name as organization_name']);
  }

  async list(ctx: RequestContext): Promise<TokenView[]> {
    const actor = requireUser(ctx.actor);
    requireUnrestricted(actor);
    const rows = await this.withOrganization(this.deps.db)
      .where('api_tokens.user_id', '=', actor.userId)
      .orderBy('api_tokens.created_at', 'desc')
      .execute();
    return rows.map(withOrganizationView);
  }

  async revoke(ctx: RequestContext, id: string): Promise<TokenView> {
    const actor = requireUser(ctx.actor);
    requireUnrestricted(actor);
    if (!isUuid(id)) throw notFound('API token');
    return this.deps.db.transaction().execute(async (trx) => {
      const token = await this.withOrganization(trx)
        .where('api_tokens.id', '=', id)
        .where('api_tokens.user_id', '=', actor.userId)
        .executeTakeFirst();
      if (!token) throw notFound('API token');
      if (token.revoked_at) return withOrganizationView(token);
      const revoked = await trx
        .updateTable('api_tokens')
        .set({ revoked_at: this.deps.clock.now() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        { action: 'token.revoke', target: { type: 'token', id, label: token.name } },
        trx,
      );
      return withOrganizationView({ ...token, ...revoked });
    });
  }

  private lookUp(hash: string) {
    return this.deps.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id',
        'api_tokens.expires_at',
        'api_tokens.revoked_at',
        'api_tokens.last_used_at',
        'api_tokens.scope',
        'api_tokens.organization_id',
        'users.id as user_id',
        'users.email',
        'users.is_platform_admin',
        'users.disabled_at',
      ])
      .where('api_tokens.token_hash', '=', hash)
      .executeTakeFirst();
  }

  async authenticate(secret: string): Promise<UserActor> {
    if (!TOKEN_PATTERN.test(secret)) throw new MarinaError('MARINA_E_INVALID_TOKEN');
    const hash = sha256(secret);
    const row = await this.cache.get(hash, () => this.lookUp(hash));
    const now = this.deps.clock.now();
    if (!row || row.revoked_at || row.disabled_at || (row.expires_at && row.expires_at <= now))
      throw new MarinaError('MARINA_E_INVALID_TOKEN');
    if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
      await this.deps.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
      this.cache.update(hash, (kept) => ({ ...kept, last_used_at: now }));
    }
    return {
      kind: 'user',
      userId: row.user_id,
      email: row.email,
      // An organization token never carries platform rights: every platform check refuses it.
      isPlatformAdmin: row.is_platform_admin && row.organization_id === null,
      via: 'token',
      tokenId: row.id,
      ...(row.scope === 'read' ? { readOnly: true } : {}),
      ...(row.scope === 'metrics' ? { readOnly: true, metricsOnly: true } : {}),
      ...(row.organization_id ? { organizationId: row.organization_id } : {}),
    };
  }
}

const withOrganizationView = (
  row: ApiToken & { organization_slug: string | null; organization_name: string | null },
): TokenView =>
  view(
    row,
    row.organization_id && row.organization_slug !== null && row.organization_name !== null
      ? { id: row.organization_id, slug: row.organization_slug, name: row.organization_name }
      : null,
  );

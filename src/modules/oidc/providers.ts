import type { Selectable } from 'kysely';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { OidcProvidersTable } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { invalid, isUuid, requireLabel, requireSlug } from '../../platform/validation.js';
import type { OidcDiscovery } from './discovery.js';
import type { OidcProvider, OidcProviderCreate, OidcProviderUpdate } from './schemas.js';

export type OidcProviderView = Static<typeof OidcProvider>;
type ProviderRow = Selectable<OidcProvidersTable>;

const DEFAULT_SCOPES = 'openid email profile';

function view(row: ProviderRow, linkedAccounts: number): OidcProviderView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    issuer: row.issuer,
    clientId: row.client_id,
    scopes: row.scopes,
    allowSignup: row.allow_signup,
    enabled: row.enabled,
    linkedAccounts,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Scopes are space-separated tokens and must ask for an ID token. */
function requireScopes(value: string | undefined): string {
  if (value === undefined) return DEFAULT_SCOPES;
  const scopes = [...new Set(value.trim().split(/\s+/))];
  if (!scopes.every((s) => /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)))
    throw invalid('scopes', 'Scopes are words separated by spaces, such as "openid email profile".');
  if (!scopes.includes('openid')) throw invalid('scopes', 'The scopes must include "openid".');
  return scopes.join(' ');
}

export interface OidcProviderServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  discovery: OidcDiscovery;
}

/** External sign-in providers, kept by platform admins. */
export class OidcProviderService {
  constructor(private readonly deps: OidcProviderServiceDeps) {}

  /** An issuer is an https URL without credentials, query or fragment (http only in tests). */
  private requireIssuer(value: string): string {
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw invalid('issuer', 'The issuer is an address such as https://accounts.example.com.');
    }
    const httpAllowed = this.deps.discovery.insecureAllowed && url.protocol === 'http:';
    if (url.protocol !== 'https:' && !httpAllowed) throw invalid('issuer', 'The issuer must be an https:// address.');
    if (url.username || url.password || url.search || url.hash)
      throw invalid('issuer', 'The issuer has no user, password, query or fragment.');
    // The issuer identifier is compared exactly with the tokens' `iss`: keep it as written, less a trailing newline.
    return value.trim();
  }

  /** Discovery must answer before a provider is saved: a typo is caught here, not at a customer's sign-in. */
  private async check(issuer: string, clientId: string, clientSecret: string): Promise<void> {
    try {
      await this.deps.discovery.discover({ issuer, clientId, clientSecret });
    } catch (error) {
      if (error instanceof MarinaError) throw error;
      throw new MarinaError(
        'MARINA_E_VALIDATION',
        `The issuer's discovery document (${issuer.replace(/\/$/, '')}/.well-known/openid-configuration) could not be read or does not match the issuer: ${(error as Error).message}`,
        { field: 'issuer' },
      );
    }
  }

  private async row(id: string): Promise<ProviderRow> {
    const row = isUuid(id)
      ? await this.deps.db.selectFrom('oidc_providers').selectAll().where('id', '=', id).executeTakeFirst()
      : undefined;
    if (!row) throw notFound('Sign-in provider');
    return row;
  }

  private async linkedCounts(): Promise<Map<string, number>> {
    const rows = await this.deps.db
      .selectFrom('user_identities')
      .select(['provider_id', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('provider_id')
      .execute();
    return new Map(rows.map((r) => [r.provider_id, Number(r.n)]));
  }

  async list(actor: Actor): Promise<OidcProviderView[]> {
    requirePlatformAdmin(actor);
    const rows = await this.deps.db.selectFrom('oidc_providers').selectAll().orderBy('name').execute();
    const counts = await this.linkedCounts();
    return rows.map((r) => view(r, counts.get(r.id) ?? 0));
  }

  async get(actor: Actor, id: string): Promise<OidcProviderView> {
    requirePlatformAdmin(actor);
    const row = await this.row(id);
    return view(row, (await this.linkedCounts()).get(row.id) ?? 0);
  }

  /** For the login page: anyone may know which providers are offered. */
  async listEnabled(): Promise<{ slug: string; name: string }[]> {
    return this.deps.db
      .selectFrom('oidc_providers')
      .select(['slug', 'name'])
      .where('enabled', '=', true)
      .orderBy('name')
      .execute();
  }

  async create(ctx: RequestContext, input: Static<typeof OidcProviderCreate>): Promise<OidcProviderView> {
    requirePlatformAdmin(ctx.actor);
    const slug = requireSlug(input.slug);
    const name = requireLabel(input.name, 'name');
    const issuer = this.requireIssuer(input.issuer);
    const scopes = requireScopes(input.scopes);
    await this.check(issuer, input.clientId, input.clientSecret);
    const id = crypto.randomUUID();
    const now = this.deps.clock.now();
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const taken = await trx.selectFrom('oidc_providers').select('id').where('slug', '=', slug).executeTakeFirst();
      if (taken)
        throw new MarinaError('MARINA_E_CONFLICT', `A sign-in provider "${slug}" exists already.`, { field: 'slug' });
      const inserted = await trx
        .insertInto('oidc_providers')
        .values({
          id,
          slug,
          name,
          issuer,
          client_id: input.clientId,
          client_secret: this.deps.box.seal(input.clientSecret, sealedAt('oidc_providers', 'client_secret', id)),
          scopes,
          allow_signup: input.allowSignup ?? false,
          enabled: input.enabled ?? true,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'oidc_provider.create',
          target: { type: 'oidc_provider', id, label: name },
          details: { slug, issuer, clientId: input.clientId, scopes, enabled: inserted.enabled },
        },
        trx,
      );
      return inserted;
    });
    return view(row, 0);
  }

  async update(ctx: RequestContext, id: string, input: Static<typeof OidcProviderUpdate>): Promise<OidcProviderView> {
    requirePlatformAdmin(ctx.actor);
    const before = await this.row(id);
    const name = input.name === undefined ? before.name : requireLabel(input.name, 'name');
    const issuer = input.issuer === undefined ? before.issuer : this.requireIssuer(input.issuer);
    const clientId = input.clientId ?? before.client_id;
    const scopes = input.scopes === undefined ? before.scopes : requireScopes(input.scopes);
    const secretChanged = input.clientSecret !== undefined;
    const clientSecret =
      input.clientSecret ?? this.deps.box.open(before.client_secret, sealedAt('oidc_providers', 'client_secret', id));
    if (issuer !== before.issuer || clientId !== before.client_id || secretChanged)
      await this.check(issuer, clientId, clientSecret);
    const changed: Record<string, unknown> = {};
    if (name !== before.name) changed.name = name;
    if (issuer !== before.issuer) changed.issuer = issuer;
    if (clientId !== before.client_id) changed.clientId = clientId;
    if (scopes !== before.scopes) changed.scopes = scopes;
    if (secretChanged) changed.clientSecret = 'changed';
    if (input.allowSignup !== undefined && input.allowSignup !== before.allow_signup)
      changed.allowSignup = input.allowSignup;
    if (input.enabled !== undefined && input.enabled !== before.enabled) changed.enabled = input.enabled;
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('oidc_providers')
        .set({
          name,
          issuer,
          client_id: clientId,
          ...(secretChanged
            ? { client_secret: this.deps.box.seal(clientSecret, sealedAt('oidc_providers', 'client_secret', id)) }
            : {}),
          scopes,
          allow_signup: input.allowSignup ?? before.allow_signup,
          enabled: input.enabled ?? before.enabled,
          updated_at: this.deps.clock.now(),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        { action: 'oidc_provider.update', target: { type: 'oidc_provider', id, label: name }, details: changed },
        trx,
      );
      return updated;
    });
    this.deps.discovery.forget(id);
    return view(row, (await this.linkedCounts()).get(id) ?? 0);
  }

  /** Removing a provider unlinks its identities; the accounts stay and can still use their passwords. */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    requirePlatformAdmin(ctx.actor);
    const before = await this.row(id);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('oidc_providers').where('id', '=', id).execute();
      await this.deps.audit.record(
        ctx,
        {
          action: 'oidc_provider.delete',
          target: { type: 'oidc_provider', id, label: before.name },
          details: { slug: before.slug },
        },
        trx,
      );
    });
    this.deps.discovery.forget(id);
  }

  /** An enabled provider by its slug, with its secret opened, for a sign-in. */
  async forSignIn(slugOrId: { slug: string } | { id: string }): Promise<(ProviderRow & { secret: string }) | null> {
    let query = this.deps.db.selectFrom('oidc_providers').selectAll().where('enabled', '=', true);
    query = 'slug' in slugOrId ? query.where('slug', '=', slugOrId.slug) : query.where('id', '=', slugOrId.id);
    const row = await query.executeTakeFirst();
    if (!row) return null;
    return {
      ...row,
      secret: this.deps.box.open(row.client_secret, sealedAt('oidc_providers', 'client_secret', row.id)),
    };
  }
}

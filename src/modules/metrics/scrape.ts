import type { Db } from '../../db/database.js';
import { memberRoles } from '../../db/schema.js';
import { requireAccess } from '../../platform/access.js';
import type { Clock } from '../../platform/clock.js';
import type { UserActor } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { isUuid } from '../../platform/validation.js';
import type { TokenService } from '../identity/tokens.js';
import type { MetricsExporter } from './exporter.js';

const NEEDS_METRICS_TOKEN =
  'GET /metrics needs an API token with the metrics scope (create one under Account → API tokens, access "Metrics").';

export interface MetricsScrapesDeps {
  db: Db;
  clock: Clock;
  tokens: Pick<TokenService, 'authenticate'>;
  exporter: MetricsExporter;
}

/**
 * Who may scrape what. Only a metrics-scope token opens /metrics (sessions and read or write tokens
 * are refused): a platform admin's sees every series, an organization's only its own instances' and
 * no platform series. `?organization=` narrows a platform token to one organization, and must name
 * an organization token's own (anything else is "not found", never another's data).
 */
export class MetricsScrapes {
  private readonly lowest = memberRoles[memberRoles.length - 1] ?? 'viewer';

  constructor(private readonly deps: MetricsScrapesDeps) {}

  async scrape(input: {
    authorization: string | undefined;
    hasSession: boolean;
    organization: string | undefined;
  }): Promise<{ contentType: string; body: Buffer }> {
    const actor = await this.scraper(input.authorization, input.hasSession);
    const organizationId = await this.reach(actor, input.organization);
    const body = await this.deps.exporter.render({
      platform: organizationId === undefined,
      organizationId,
      now: this.deps.clock.now(),
    });
    return { contentType: this.deps.exporter.contentType, body };
  }

  private async scraper(authorization: string | undefined, hasSession: boolean): Promise<UserActor> {
    if (authorization === undefined) {
      if (hasSession) throw new MarinaError('MARINA_E_TOKEN_SCOPE', NEEDS_METRICS_TOKEN);
      throw new MarinaError(
        'MARINA_E_UNAUTHENTICATED',
        `${NEEDS_METRICS_TOKEN} Send it as "Authorization: Bearer mrn_…".`,
      );
    }
    const match = /^Bearer (\S+)$/i.exec(authorization);
    if (!match?.[1])
      throw new MarinaError('MARINA_E_INVALID_TOKEN', 'Send the token as "Authorization: Bearer mrn_…".');
    const actor = await this.deps.tokens.authenticate(match[1]);
    if (!actor.metricsOnly) throw new MarinaError('MARINA_E_TOKEN_SCOPE', NEEDS_METRICS_TOKEN);
    return actor;
  }

  /** The organization the scrape is limited to (undefined: the whole platform). */
  private async reach(actor: UserActor, wanted: string | undefined): Promise<string | undefined> {
    const { db } = this.deps;
    if (actor.organizationId) {
      // Still a member: the token dies with its user's membership.
      await requireAccess(db, actor, actor.organizationId, this.lowest);
      if (wanted !== undefined && wanted !== actor.organizationId) {
        const own = await db
          .selectFrom('organizations')
          .select('slug')
          .where('id', '=', actor.organizationId)
          .executeTakeFirst();
        if (own?.slug !== wanted) throw notFound('Organization');
      }
      return actor.organizationId;
    }
    if (!actor.isPlatformAdmin)
      throw new MarinaError('MARINA_E_FORBIDDEN', 'A metrics token without an organization is for platform admins.');
    if (wanted === undefined) return undefined;
    const found = await db
      .selectFrom('organizations')
      .select('id')
      .where((eb) =>
        isUuid(wanted) ? eb.or([eb('id', '=', wanted), eb('slug', '=', wanted)]) : eb('slug', '=', wanted),
      )
      .executeTakeFirst();
    if (!found) throw notFound('Organization');
    return found.id;
  }
}

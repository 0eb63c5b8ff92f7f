import type { Logger } from 'pino';
import type { Db } from '../../../db/database.js';
import { type OdooVersion, odooVersions } from '../../../odoo/versions.js';
import { requirePlatformAdmin } from '../../../platform/access.js';
import type { AuditService } from '../../../platform/audit/service.js';
import type { Clock } from '../../../platform/clock.js';
import type { Actor, RequestContext } from '../../../platform/context.js';
import { RoundTicker } from '../../../platform/round-ticker.js';
import { invalid, isUuid } from '../../../platform/validation.js';
import { LOCAL_HOST_ID } from '../../hosts/hosts.js';
import { saveSetting } from '../../settings/setting-rows.js';
import type { DatabaseTemplates, WarmRecipe } from './service.js';

export const WARM_SETTINGS_KEY = 'database_templates';
/** Image changes and expired templates are caught this often; a change of the settings at once. */
const WARM_INTERVAL_MS = 60 * 60_000;

/** What a platform admin keeps built ahead: Odoo versions (plain `base`) and Odoo templates. */
export interface WarmSettings {
  versions: OdooVersion[];
  templates: string[];
}

const NONE: WarmSettings = { versions: [], templates: [] };

export interface WarmTemplatesDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  templates: Pick<DatabaseTemplates, 'buildAhead'>;
}

/**
 * Templates built before anyone needs them, on the local host's database server: the first
 * customer of a version or an Odoo template (a sign-up) waits as little as the next.
 */
export class WarmTemplates {
  private readonly ticker: RoundTicker;

  constructor(private readonly deps: WarmTemplatesDeps) {
    this.ticker = new RoundTicker(() => this.warmUp().then(() => undefined), {
      intervalMs: WARM_INTERVAL_MS,
      logger: deps.logger,
      failure: 'building warm template databases failed',
    });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  async settings(actor: Actor): Promise<WarmSettings> {
    requirePlatformAdmin(actor);
    return this.read();
  }

  async save(ctx: RequestContext, input: unknown): Promise<WarmSettings> {
    requirePlatformAdmin(ctx.actor);
    const settings = await this.valid(input);
    const before = await this.read();
    await saveSetting(this.deps, ctx, WARM_SETTINGS_KEY, settings, {
      action: 'platform.warm_database_templates',
      target: { type: 'platform', id: WARM_SETTINGS_KEY, label: 'Warm template databases' },
      details: { before, after: settings },
    });
    this.ticker.poke();
    return settings;
  }

  /** Builds what is marked warm and missing; returns each recipe's outcome (for tests and logs). */
  async warmUp(): Promise<string[]> {
    const outcomes: string[] = [];
    for (const recipe of await this.recipes()) {
      const outcome = await this.deps.templates.buildAhead(LOCAL_HOST_ID, recipe);
      outcomes.push(`${recipe.odooVersion} ${['base', ...recipe.modules].join(',')}: ${outcome}`);
    }
    return outcomes;
  }

  private async recipes(): Promise<WarmRecipe[]> {
    const { versions, templates } = await this.read();
    const recipes: WarmRecipe[] = versions.map((odooVersion) => ({
      odooVersion,
      modules: [],
      language: 'en_US',
      demo: false,
    }));
    if (templates.length === 0) return recipes;
    const rows = await this.deps.db
      .selectFrom('odoo_templates')
      .select(['odoo_version', 'modules', 'language', 'demo'])
      .where('id', 'in', templates)
      .where('archived_at', 'is', null)
      .execute();
    for (const row of rows)
      recipes.push({
        odooVersion: row.odoo_version as OdooVersion,
        modules: row.modules,
        language: row.language,
        demo: row.demo,
      });
    return recipes;
  }

  private async read(): Promise<WarmSettings> {
    const row = await this.deps.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', WARM_SETTINGS_KEY)
      .executeTakeFirst();
    if (!row) return NONE;
    // What was valid when saved: an Odoo template archived since drops out alone, not the rest with it.
    const v = (row.value ?? {}) as Record<string, unknown>;
    const versions = (Array.isArray(v.versions) ? v.versions : []).filter((x) =>
      odooVersions.includes(x as OdooVersion),
    ) as OdooVersion[];
    const saved = (Array.isArray(v.templates) ? v.templates : []).filter((x) => isUuid(x)) as string[];
    const usable = await this.usable(saved);
    return { versions, templates: saved.filter((id) => usable.has(id)) };
  }

  /** Of these Odoo template ids, those that exist and are not archived. */
  private async usable(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.deps.db
      .selectFrom('odoo_templates')
      .select('id')
      .where('id', 'in', ids)
      .where('archived_at', 'is', null)
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  private async valid(input: unknown): Promise<WarmSettings> {
    const v = (input ?? {}) as Record<string, unknown>;
    const versions = v.versions ?? [];
    if (!Array.isArray(versions) || !versions.every((x) => odooVersions.includes(x as OdooVersion)))
      throw invalid('versions', `versions lists Odoo versions among ${odooVersions.join(', ')}.`);
    const templates = v.templates ?? [];
    if (!Array.isArray(templates) || templates.length > 50 || !templates.every((x) => isUuid(x)))
      throw invalid('templates', 'templates lists up to 50 ids of Odoo templates.');
    const unique = [...new Set(templates as string[])];
    const usable = await this.usable(unique);
    const missing = unique.find((id) => !usable.has(id));
    if (missing) throw invalid('templates', `No usable Odoo template ${missing}.`);
    return { versions: [...new Set(versions as OdooVersion[])], templates: unique };
  }
}

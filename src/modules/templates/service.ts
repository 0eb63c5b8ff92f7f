import type { Selectable } from 'kysely';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { OdooTemplatesTable } from '../../db/schema-signup.js';
import { recipeHash } from '../../odoo/template-recipe.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { isUuid, requireLabel, requireSlug } from '../../platform/validation.js';
import {
  requireCountry,
  requireDescription,
  requireFlag,
  requireLanguage,
  requireModules,
  requireOdooVersion,
  requireSort,
} from './recipe-input.js';
import type { NewOdooTemplateBody, OdooTemplate, OdooTemplatePatchBody, PublicOdooTemplate } from './schemas.js';

export type OdooTemplateRow = Selectable<OdooTemplatesTable>;
export type OdooTemplateView = Static<typeof OdooTemplate>;
export type PublicOdooTemplateView = Static<typeof PublicOdooTemplate>;
export type NewOdooTemplateInput = Static<typeof NewOdooTemplateBody>;
export type OdooTemplatePatch = Static<typeof OdooTemplatePatchBody>;

export interface TemplateServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

/** What a template's row holds besides its identity, every field checked. */
interface TemplateValues {
  slug: string;
  name: string;
  description: string;
  odoo_version: string;
  modules: string[];
  language: string;
  country: string | null;
  company_name_from_org: boolean;
  demo: boolean;
  public: boolean;
  sort: number;
}

/**
 * The Odoo templates a new instance can be made with: platform admins define them; sign-up offers
 * the public ones (`publicList`, `usable`); the instance form lets members pick a usable one.
 */
export class TemplateService {
  constructor(private readonly deps: TemplateServiceDeps) {}

  /** Public, not archived, in the admin's order: what sign-up and the instance form offer. */
  async publicList(db: Db = this.deps.db): Promise<PublicOdooTemplateView[]> {
    const rows = await db
      .selectFrom('odoo_templates')
      .selectAll()
      .where('public', '=', true)
      .where('archived_at', 'is', null)
      .orderBy('sort')
      .orderBy('name')
      .execute();
    return rows.map(publicView);
  }

  /** The template if anyone may pick it (public, not archived), else null. */
  async usable(id: string, db: Db = this.deps.db): Promise<OdooTemplateRow | null> {
    if (!isUuid(id)) return null;
    const row = await db
      .selectFrom('odoo_templates')
      .selectAll()
      .where('id', '=', id)
      .where('public', '=', true)
      .where('archived_at', 'is', null)
      .executeTakeFirst();
    return row ?? null;
  }

  async list(ctx: RequestContext, { archived = false } = {}): Promise<OdooTemplateView[]> {
    requirePlatformAdmin(ctx.actor);
    let q = this.deps.db.selectFrom('odoo_templates').selectAll();
    if (!archived) q = q.where('archived_at', 'is', null);
    const rows = await q.orderBy('sort').orderBy('name').execute();
    const counts = await this.instanceCounts(rows.map((r) => r.id));
    return rows.map((r) => toView(r, counts.get(r.id) ?? 0));
  }

  async get(ctx: RequestContext, id: string): Promise<OdooTemplateView> {
    requirePlatformAdmin(ctx.actor);
    return this.view(await this.row(id));
  }

  async create(ctx: RequestContext, input: NewOdooTemplateInput): Promise<OdooTemplateView> {
    requirePlatformAdmin(ctx.actor);
    const values: TemplateValues = {
      slug: requireSlug(input.slug, 'slug'),
      name: requireLabel(input.name, 'name'),
      description: requireDescription(input.description ?? ''),
      odoo_version: requireOdooVersion(input.odooVersion),
      modules: requireModules(input.modules ?? []),
      language: requireLanguage(input.language ?? 'en_US'),
      country: requireCountry(input.country ?? null),
      company_name_from_org: requireFlag(input.companyNameFromOrg ?? true, 'companyNameFromOrg'),
      demo: requireFlag(input.demo ?? false, 'demo'),
      public: requireFlag(input.public ?? true, 'public'),
      sort: requireSort(input.sort ?? 0),
    };
    return this.deps.db.transaction().execute(async (trx) => {
      await this.requireFreeSlug(trx, values.slug);
      const row = await trx
        .insertInto('odoo_templates')
        .values({ ...values, content_hash: hashOf(values) })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'odoo_template.create',
          target: { type: 'odoo_template', id: row.id, label: row.name },
          details: { slug: row.slug, ...recipeDetails(row) },
        },
        trx,
      );
      return toView(row, 0);
    });
  }

  async update(ctx: RequestContext, id: string, patch: OdooTemplatePatch): Promise<OdooTemplateView> {
    requirePlatformAdmin(ctx.actor);
    const before = await this.row(id);
    const changed: Partial<TemplateValues> = {};
    if (patch.slug !== undefined) changed.slug = requireSlug(patch.slug, 'slug');
    if (patch.name !== undefined) changed.name = requireLabel(patch.name, 'name');
    if (patch.description !== undefined) changed.description = requireDescription(patch.description);
    if (patch.odooVersion !== undefined) changed.odoo_version = requireOdooVersion(patch.odooVersion);
    if (patch.modules !== undefined) changed.modules = requireModules(patch.modules);
    if (patch.language !== undefined) changed.language = requireLanguage(patch.language);
    if (patch.country !== undefined) changed.country = requireCountry(patch.country);
    if (patch.companyNameFromOrg !== undefined)
      changed.company_name_from_org = requireFlag(patch.companyNameFromOrg, 'companyNameFromOrg');
    if (patch.demo !== undefined) changed.demo = requireFlag(patch.demo, 'demo');
    if (patch.public !== undefined) changed.public = requireFlag(patch.public, 'public');
    if (patch.sort !== undefined) changed.sort = requireSort(patch.sort);
    const after = { ...valuesOf(before), ...changed };
    return this.deps.db.transaction().execute(async (trx) => {
      if (after.slug !== before.slug) await this.requireFreeSlug(trx, after.slug);
      const row = await trx
        .updateTable('odoo_templates')
        .set({ ...changed, content_hash: hashOf(after), updated_at: this.deps.clock.now() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'odoo_template.update',
          target: { type: 'odoo_template', id, label: row.name },
          details: {
            changed: Object.keys(changed),
            ...(row.content_hash !== before.content_hash ? recipeDetails(row) : {}),
          },
        },
        trx,
      );
      return this.view(row, trx);
    });
  }

  /**
   * Removes a template nobody used; one an instance or a sign-up refers to is archived instead
   * (no longer offered, its instances still say what they were made with).
   */
  async remove(ctx: RequestContext, id: string): Promise<{ removed: boolean; template: OdooTemplateView | null }> {
    requirePlatformAdmin(ctx.actor);
    await this.row(id);
    return this.deps.db.transaction().execute(async (trx) => {
      // Locked: a sign-up or an instance made meanwhile waits, then finds it archived or gone.
      const row = await trx
        .selectFrom('odoo_templates')
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const used = await this.usedBy(trx, id);
      const target = { type: 'odoo_template' as const, id, label: row.name };
      if (used.instances === 0 && used.signups === 0) {
        await trx.deleteFrom('odoo_templates').where('id', '=', id).execute();
        await this.deps.audit.record(
          ctx,
          { action: 'odoo_template.delete', target, details: { slug: row.slug, archived: false } },
          trx,
        );
        return { removed: true, template: null };
      }
      const now = this.deps.clock.now();
      const archived = row.archived_at
        ? row
        : await trx
            .updateTable('odoo_templates')
            .set({ archived_at: now, updated_at: now })
            .where('id', '=', id)
            .returningAll()
            .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        { action: 'odoo_template.delete', target, details: { slug: row.slug, archived: true, usedBy: used } },
        trx,
      );
      return { removed: false, template: toView(archived, used.instances) };
    });
  }

  async row(id: string, db: Db = this.deps.db): Promise<OdooTemplateRow> {
    if (!isUuid(id)) throw notFound('Odoo template');
    const row = await db.selectFrom('odoo_templates').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Odoo template');
    return row;
  }

  private async view(row: OdooTemplateRow, db: Db = this.deps.db): Promise<OdooTemplateView> {
    return toView(row, (await this.usedBy(db, row.id)).instances);
  }

  private async usedBy(db: Db, id: string): Promise<{ instances: number; signups: number }> {
    const [instances, signups] = await Promise.all([
      db
        .selectFrom('instances')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('template_id', '=', id)
        .executeTakeFirstOrThrow(),
      db
        .selectFrom('signups')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('template_id', '=', id)
        .executeTakeFirstOrThrow(),
    ]);
    return { instances: Number(instances.n), signups: Number(signups.n) };
  }

  private async instanceCounts(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await this.deps.db
      .selectFrom('instances')
      .select(['template_id', (eb) => eb.fn.countAll<string>().as('n')])
      .where('template_id', 'in', ids)
      .groupBy('template_id')
      .execute();
    return new Map(rows.map((r) => [r.template_id ?? '', Number(r.n)]));
  }

  private async requireFreeSlug(db: Db, slug: string): Promise<void> {
    const clash = await db.selectFrom('odoo_templates').select('id').where('slug', '=', slug).executeTakeFirst();
    if (clash)
      throw new MarinaError('MARINA_E_CONFLICT', `A template named ${slug} exists already.`, { field: 'slug' });
  }
}

function valuesOf(row: OdooTemplateRow): TemplateValues {
  return {
    slug: row.slug,
    name: row.name,
    description: row.description,
    odoo_version: row.odoo_version,
    modules: row.modules,
    language: row.language,
    country: row.country,
    company_name_from_org: row.company_name_from_org,
    demo: row.demo,
    public: row.public,
    sort: row.sort,
  };
}

const hashOf = (v: Pick<TemplateValues, 'odoo_version' | 'modules' | 'language' | 'country' | 'demo'>) =>
  recipeHash({
    odooVersion: v.odoo_version,
    modules: v.modules,
    language: v.language,
    country: v.country,
    demo: v.demo,
  });

const recipeDetails = (row: OdooTemplateRow) => ({
  odooVersion: row.odoo_version,
  modules: row.modules,
  language: row.language,
  country: row.country,
  demo: row.demo,
  contentHash: row.content_hash,
});

export function publicView(row: OdooTemplateRow): PublicOdooTemplateView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    odooVersion: row.odoo_version,
    modules: row.modules,
    language: row.language,
    country: row.country,
    demo: row.demo,
  };
}

function toView(row: OdooTemplateRow, instances: number): OdooTemplateView {
  return {
    ...publicView(row),
    companyNameFromOrg: row.company_name_from_org,
    public: row.public,
    sort: row.sort,
    contentHash: row.content_hash,
    instances,
    archivedAt: row.archived_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

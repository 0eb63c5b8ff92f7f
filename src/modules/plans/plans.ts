import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { PricePeriod } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { invalid, isUuid, requireLabel, requireSlug } from '../../platform/validation.js';
import { type Limits, limitColumns, limitsOf, type PlanRow } from './limits.js';
import type { NewPlanBody, Plan, PlanPatchBody, PlanPrice, PublicPlan } from './schemas.js';

export type PlanView = Static<typeof Plan>;
export type PublicPlanView = Static<typeof PublicPlan>;
export type Price = Static<typeof PlanPrice>;
export type NewPlanInput = Static<typeof NewPlanBody>;
export type PlanPatch = Static<typeof PlanPatchBody>;

const periods: readonly PricePeriod[] = ['month', 'year'];

/** Prices are integers in the currency's minor unit; one per currency and period. */
export function requirePrices(value: unknown): Price[] {
  if (!Array.isArray(value)) throw invalid('prices', 'prices must be a list.');
  const seen = new Set<string>();
  return value.map((raw, i) => {
    const p = raw as Partial<Price>;
    if (typeof p.currency !== 'string' || !/^[A-Z]{3}$/.test(p.currency))
      throw invalid(`prices.${i}.currency`, 'A currency is an ISO 4217 code of three upper-case letters (EUR, USD).');
    if (!periods.includes(p.period as PricePeriod))
      throw invalid(`prices.${i}.period`, 'A price period is month or year.');
    if (typeof p.amountMinor !== 'number' || !Number.isSafeInteger(p.amountMinor) || p.amountMinor < 0)
      throw invalid(
        `prices.${i}.amountMinor`,
        'A price is a whole number of the currency’s minor unit (1990 for 19.90 EUR), never a fraction.',
      );
    const key = `${p.currency}/${p.period}`;
    if (seen.has(key)) throw invalid(`prices.${i}`, `Two prices for ${p.currency} per ${p.period}.`);
    seen.add(key);
    return { currency: p.currency, period: p.period as PricePeriod, amountMinor: p.amountMinor };
  });
}

/** Limits as columns; only those given. CPUs carry one decimal at most (numeric(4,1)). */
/** Checked again past the schema: a whole number of seconds from 10 to 3600, or null. */
function uptimeInterval(value: number | null | undefined): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Number.isInteger(value) || value < 10 || value > 3600)
    throw invalid(
      'uptimeIntervalSeconds',
      'uptimeIntervalSeconds is a whole number of seconds from 10 to 3600, or null.',
    );
  return value;
}

function limitValues(limits: Partial<Limits>): Record<string, number | null> {
  const values: Record<string, number | null> = {};
  for (const [key, column] of Object.entries(limitColumns) as [keyof Limits, string][]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (value !== null) {
      const ok =
        key === 'maxCpus'
          ? Number.isFinite(value) &&
            value >= 0 &&
            value <= 999.9 &&
            Math.abs(value * 10 - Math.round(value * 10)) < 1e-9
          : Number.isSafeInteger(value) && value >= 0 && value <= 2_000_000_000;
      if (!ok)
        throw invalid(
          `limits.${key}`,
          key === 'maxCpus'
            ? 'maxCpus is a number of CPUs with one decimal at most (0.5, 2, 3.5), or null for no limit.'
            : `${key} is a whole number, or null for no limit.`,
        );
    }
    values[column] = value;
  }
  return values;
}

export interface PlanServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
}

/** The plans the platform sells: platform admins make and change them; sign-up lists the public ones. */
export class PlanService {
  constructor(private readonly deps: PlanServiceDeps) {}

  async row(id: string, db: Db = this.deps.db): Promise<PlanRow> {
    if (!isUuid(id)) throw notFound('Plan');
    const plan = await db.selectFrom('plans').selectAll().where('id', '=', id).executeTakeFirst();
    if (!plan) throw notFound('Plan');
    return plan;
  }

  async view(plan: PlanRow, db: Db = this.deps.db): Promise<PlanView> {
    const prices = await this.prices(db, [plan.id]);
    return toView(plan, prices.get(plan.id) ?? []);
  }

  async list(ctx: RequestContext, { archived = false } = {}): Promise<PlanView[]> {
    requirePlatformAdmin(ctx.actor);
    let q = this.deps.db.selectFrom('plans').selectAll();
    if (!archived) q = q.where('archived_at', 'is', null);
    const plans = await q.orderBy('sort').orderBy('name').execute();
    const prices = await this.prices(
      this.deps.db,
      plans.map((p) => p.id),
    );
    return plans.map((p) => toView(p, prices.get(p.id) ?? []));
  }

  async get(ctx: RequestContext, id: string): Promise<PlanView> {
    requirePlatformAdmin(ctx.actor);
    return this.view(await this.row(id));
  }

  /** What anyone may see before signing up: public plans still offered. */
  async listPublic(): Promise<PublicPlanView[]> {
    const plans = await this.deps.db
      .selectFrom('plans')
      .selectAll()
      .where('public', '=', true)
      .where('archived_at', 'is', null)
      .orderBy('sort')
      .orderBy('name')
      .execute();
    const prices = await this.prices(
      this.deps.db,
      plans.map((p) => p.id),
    );
    return plans.map((p) => {
      const { id, slug, name, description, limits, stagingAllowed, trialDays } = toView(p, []);
      return { id, slug, name, description, limits, stagingAllowed, trialDays, prices: prices.get(p.id) ?? [] };
    });
  }

  async create(ctx: RequestContext, input: NewPlanInput): Promise<PlanView> {
    requirePlatformAdmin(ctx.actor);
    const slug = requireSlug(input.slug, 'slug');
    const name = requireLabel(input.name, 'name');
    const prices = requirePrices(input.prices ?? []);
    const limits = limitValues(input.limits ?? {});
    return this.deps.db.transaction().execute(async (trx) => {
      await this.requireFreeSlug(trx, slug);
      const plan = await trx
        .insertInto('plans')
        .values({
          slug,
          name,
          description: input.description ?? '',
          public: input.public ?? false,
          sort: input.sort ?? 0,
          staging_allowed: input.stagingAllowed ?? true,
          trial_days: input.trialDays ?? 0,
          uptime_interval_s: uptimeInterval(input.uptimeIntervalSeconds) ?? null,
          ...limits,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.writePrices(trx, plan.id, prices);
      await this.deps.audit.record(
        ctx,
        {
          action: 'plan.create',
          target: { type: 'plan', id: plan.id, label: plan.name },
          details: { slug, limits: limitsOf(plan), prices },
        },
        trx,
      );
      return toView(plan, prices);
    });
  }

  async update(ctx: RequestContext, id: string, patch: PlanPatch): Promise<PlanView> {
    requirePlatformAdmin(ctx.actor);
    const before = await this.row(id);
    const values: Record<string, unknown> = { updated_at: this.deps.clock.now() };
    if (patch.slug !== undefined) values.slug = requireSlug(patch.slug, 'slug');
    if (patch.name !== undefined) values.name = requireLabel(patch.name, 'name');
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.public !== undefined) values.public = patch.public;
    if (patch.sort !== undefined) values.sort = patch.sort;
    if (patch.stagingAllowed !== undefined) values.staging_allowed = patch.stagingAllowed;
    if (patch.trialDays !== undefined) values.trial_days = patch.trialDays;
    if (patch.uptimeIntervalSeconds !== undefined)
      values.uptime_interval_s = uptimeInterval(patch.uptimeIntervalSeconds);
    Object.assign(values, limitValues(patch.limits ?? {}));
    const prices = patch.prices === undefined ? undefined : requirePrices(patch.prices);
    return this.deps.db.transaction().execute(async (trx) => {
      if (typeof values.slug === 'string' && values.slug !== before.slug) await this.requireFreeSlug(trx, values.slug);
      const plan = await trx
        .updateTable('plans')
        .set(values)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (prices) await this.writePrices(trx, id, prices);
      const { updated_at: _u, ...changed } = values;
      await this.deps.audit.record(
        ctx,
        {
          action: 'plan.update',
          target: { type: 'plan', id, label: plan.name },
          details: { changed: Object.keys(changed), ...(prices ? { prices } : {}) },
        },
        trx,
      );
      return this.view(plan, trx);
    });
  }

  /** Archived: no longer offered nor given; organizations on it keep it (it is never deleted). */
  async archive(ctx: RequestContext, id: string): Promise<PlanView> {
    requirePlatformAdmin(ctx.actor);
    const before = await this.row(id);
    if (before.archived_at) return this.view(before);
    return this.deps.db.transaction().execute(async (trx) => {
      const now = this.deps.clock.now();
      const plan = await trx
        .updateTable('plans')
        .set({ archived_at: now, updated_at: now })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        { action: 'plan.archive', target: { type: 'plan', id, label: plan.name } },
        trx,
      );
      return this.view(plan, trx);
    });
  }

  private async requireFreeSlug(trx: Db, slug: string): Promise<void> {
    const clash = await trx.selectFrom('plans').select('id').where('slug', '=', slug).executeTakeFirst();
    if (clash) throw new MarinaError('MARINA_E_CONFLICT', `A plan named ${slug} exists already.`, { field: 'slug' });
  }

  private async writePrices(trx: Db, planId: string, prices: Price[]): Promise<void> {
    await trx.deleteFrom('plan_prices').where('plan_id', '=', planId).execute();
    if (prices.length === 0) return;
    await trx
      .insertInto('plan_prices')
      .values(
        prices.map((p) => ({ plan_id: planId, currency: p.currency, period: p.period, amount_minor: p.amountMinor })),
      )
      .execute();
  }

  private async prices(db: Db, planIds: string[]): Promise<Map<string, Price[]>> {
    const byPlan = new Map<string, Price[]>();
    if (planIds.length === 0) return byPlan;
    const rows = await db
      .selectFrom('plan_prices')
      .selectAll()
      .where('plan_id', 'in', planIds)
      .orderBy('currency')
      .orderBy('period')
      .execute();
    for (const row of rows) {
      const list = byPlan.get(row.plan_id) ?? [];
      list.push({ currency: row.currency, period: row.period, amountMinor: Number(row.amount_minor) });
      byPlan.set(row.plan_id, list);
    }
    return byPlan;
  }
}

function toView(plan: PlanRow, prices: Price[]): PlanView {
  return {
    id: plan.id,
    slug: plan.slug,
    name: plan.name,
    description: plan.description,
    public: plan.public,
    sort: plan.sort,
    limits: limitsOf(plan),
    stagingAllowed: plan.staging_allowed,
    trialDays: plan.trial_days,
    uptimeIntervalSeconds: plan.uptime_interval_s,
    prices,
    archivedAt: plan.archived_at?.toISOString() ?? null,
    createdAt: plan.created_at.toISOString(),
    updatedAt: plan.updated_at.toISOString(),
  };
}

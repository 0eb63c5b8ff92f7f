import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { requireAccess } from '../../platform/access.js';
import type { AuditService, AuditWho } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import type { Notices } from '../../platform/notices.js';
import { isUuid } from '../../platform/validation.js';
import { planFit } from './fit.js';
import { limitsOf, type PlanRow, type SubscriptionRow } from './limits.js';
import type { PlanService } from './plans.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Called after a plan change is committed (billing prorates there, #20). */
export type SubscriptionChanged = (organizationId: string, from: PlanRow, to: PlanRow) => Promise<void> | void;

export interface SubscriptionServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  plans: PlanService;
  /** The outbox; without it no mail is written (fast tests, tools). */
  notices?: Notices;
  subscriptionChanged?: SubscriptionChanged[];
  /** Marina's address, for the mails (MARINA_PUBLIC_URL). */
  portalUrl: string;
}

/** The email addresses of the organization's owners: who hears about its plan. */
export async function ownerEmails(db: Db, organizationId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('users.email')
    .where('memberships.organization_id', '=', organizationId)
    .where('memberships.role', '=', 'owner')
    .orderBy('users.email')
    .execute();
  return rows.map((r) => r.email);
}

/**
 * An organization's subscription: it is made here (trialing or active) and its plan changes here.
 * Every status change after that is the lifecycle's (src/modules/lifecycle).
 */
export class SubscriptionService {
  constructor(private readonly deps: SubscriptionServiceDeps) {}

  get(organizationId: string, db: Db = this.deps.db): Promise<SubscriptionRow | undefined> {
    return db.selectFrom('subscriptions').selectAll().where('organization_id', '=', organizationId).executeTakeFirst();
  }

  /**
   * Makes the organization's subscription in the caller's transaction: a trial of the plan's
   * `trial_days` from now, or active at once. A plan without a trial cannot start one; an
   * archived plan is no longer given.
   */
  async start(
    trx: Db,
    organizationId: string,
    planId: string,
    options: { trial: boolean; who?: AuditWho },
  ): Promise<SubscriptionRow> {
    const plan = await this.deps.plans.row(planId, trx);
    if (plan.archived_at)
      throw new MarinaError('MARINA_E_CONFLICT', `Plan ${plan.name} is archived: it is no longer given.`);
    if (options.trial && plan.trial_days <= 0)
      throw new MarinaError('MARINA_E_VALIDATION', `Plan ${plan.name} has no trial.`, { field: 'trial' });
    const now = this.deps.clock.now();
    const subscription = await trx
      .insertInto('subscriptions')
      .values({
        organization_id: organizationId,
        plan_id: plan.id,
        status: options.trial ? 'trialing' : 'active',
        trial_started_at: options.trial ? now : null,
        trial_ends_at: options.trial ? new Date(now.getTime() + plan.trial_days * DAY_MS) : null,
        activated_at: options.trial ? null : now,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('organization_id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!subscription) throw new MarinaError('MARINA_E_CONFLICT', 'The organization has a subscription already.');
    await this.deps.audit.record(
      options.who ?? { actor: { kind: 'system', label: 'marina' }, ip: null },
      {
        action: 'subscription.create',
        organizationId,
        target: { type: 'subscription', id: organizationId, label: await organizationSlug(trx, organizationId) },
        details: {
          plan: plan.slug,
          status: subscription.status,
          trialEndsAt: subscription.trial_ends_at?.toISOString() ?? null,
        },
      },
      trx,
    );
    return subscription;
  }

  /**
   * Moves the organization to another plan at once, if everything it holds fits: otherwise 409
   * listing every problem. Platform admins change any plan (and give one to an organization
   * without); an owner only during a trial, and only between public plans.
   */
  async changePlan(ctx: RequestContext, organizationId: string, planId: unknown): Promise<SubscriptionRow> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    if (typeof planId !== 'string')
      throw new MarinaError('MARINA_E_VALIDATION', 'planId is required.', { field: 'planId' });
    const access = await requireAccess(this.deps.db, ctx.actor, organizationId, 'owner');
    const target = await this.deps.plans.row(planId).catch(() => {
      throw new MarinaError('MARINA_E_VALIDATION', 'No such plan.', { field: 'planId' });
    });
    if (target.archived_at)
      throw new MarinaError('MARINA_E_CONFLICT', `Plan ${target.name} is archived: it is no longer given.`);
    const result = await this.deps.db.transaction().execute(async (trx) => {
      // The quotas' lock: nothing is created in the organization while its plan changes.
      await sql`select pg_advisory_xact_lock(hashtextextended(${organizationId}, 0))`.execute(trx);
      const current = await trx
        .selectFrom('subscriptions')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .forUpdate()
        .executeTakeFirst();
      // A platform admin's token limited to this organization acts as its owner here, not as the platform.
      const asPlatform = access.viaPlatformAdmin && !(ctx.actor.kind === 'user' && ctx.actor.organizationId);
      if (!asPlatform) {
        const from = current ? await this.deps.plans.row(current.plan_id, trx) : undefined;
        if (current?.status !== 'trialing' || !from?.public || !target.public)
          throw new MarinaError(
            'MARINA_E_FORBIDDEN',
            'During a trial an owner may move between the public plans; any other change is the platform administrator’s.',
          );
      }
      if (current?.plan_id === target.id) return { subscription: current, from: undefined };
      const problems = await planFit(trx, organizationId, target);
      if (problems.length > 0)
        throw new MarinaError(
          'MARINA_E_PLAN_DOES_NOT_FIT',
          `The organization does not fit in plan ${target.name}: ${problems.map((p) => p.remove).join('; ')}.`,
          { plan: target.name, problems },
        );
      if (!current) {
        const subscription = await this.start(trx, organizationId, target.id, { trial: false, who: ctx });
        return { subscription, from: undefined };
      }
      const from = await this.deps.plans.row(current.plan_id, trx);
      const subscription = await trx
        .updateTable('subscriptions')
        .set({ plan_id: target.id, updated_at: this.deps.clock.now() })
        .where('organization_id', '=', organizationId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'subscription.change_plan',
          organizationId,
          target: { type: 'subscription', id: organizationId, label: await organizationSlug(trx, organizationId) },
          details: { from: from.slug, to: target.slug, limits: limitsOf(target) },
        },
        trx,
      );
      await this.notify(trx, organizationId, from, target);
      return { subscription, from };
    });
    const { from } = result;
    if (from) for (const changed of this.deps.subscriptionChanged ?? []) await changed(organizationId, from, target);
    if (from) await this.deps.notices?.drain().catch(() => undefined);
    return result.subscription;
  }

  private async notify(trx: Db, organizationId: string, from: PlanRow, to: PlanRow) {
    const notices = this.deps.notices;
    if (!notices) return;
    const organization = await trx
      .selectFrom('organizations')
      .select(['name', 'slug'])
      .where('id', '=', organizationId)
      .executeTakeFirstOrThrow();
    const change = randomUUID();
    for (const to_ of await ownerEmails(trx, organizationId)) {
      await notices.enqueue(trx, {
        key: 'plan_changed',
        to: to_,
        organizationId,
        // One mail per change, written in the change's transaction (not one per plan ever).
        dedupeKey: `plan_changed:${organizationId}:${change}:${to_}`,
        vars: {
          organization: organization.name,
          old_plan: from.name,
          new_plan: to.name,
          portal_url: this.deps.portalUrl,
        },
      });
    }
  }
}

async function organizationSlug(db: Db, organizationId: string): Promise<string> {
  const org = await db.selectFrom('organizations').select('slug').where('id', '=', organizationId).executeTakeFirst();
  return org?.slug ?? organizationId;
}

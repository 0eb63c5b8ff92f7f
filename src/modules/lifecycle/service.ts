import type { Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Instance, InstanceStatus } from '../../db/schema.js';
import type { SubscriptionStatus, SubscriptionsTable } from '../../db/schema-selfservice.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditEntry, AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import { type Actor, type RequestContext, systemContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { planJob } from '../../platform/jobs/define.js';
import type { Notices } from '../../platform/notices.js';
import { lockOrganization } from '../../platform/quota.js';
import type { EdgeService } from '../edge/index.js';
import { lifecycleJobs } from '../instances/job-specs.js';
import type { InstanceService } from '../instances/service.js';
import type { SubscriptionService } from '../plans/subscriptions.js';
import { DAY_MS, noticeOf, refusal, suspendedKindOf, type TransitionCause } from './machine.js';
import { type CustomersOverview, customersOverview, type OverviewQuery } from './overview.js';
import { readLifecycleSettings } from './settings.js';
import { mailOwners, type OrganizationFacts, organizationFacts, recordStep, subscriptionTarget } from './steps.js';

export type Subscription = Selectable<SubscriptionsTable>;

/**
 * Instance states in which Odoo runs (or is about to): what a suspension records and stops. A job's
 * states (provisioning, restoring) end running: recorded to start again on resume, stopped once the
 * job lets go of the instance.
 */
export const RUNNING: readonly InstanceStatus[] = [
  'provisioning',
  'restoring',
  'starting',
  'running',
  'unhealthy',
  'restarting',
];

export interface LifecycleServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notices: Notices;
  instances: InstanceService;
  edge: Pick<EdgeService, 'sync'>;
  /** Makes the subscription row (the plans module's). */
  subscriptions: Pick<SubscriptionService, 'start'>;
  /** Where owners sign in (MARINA_PUBLIC_URL): the mails' link. */
  publicUrl: string;
  logger: Logger;
}

/** A status change: why, its step's unique key, and who asked. */
export interface Cause {
  cause: TransitionCause;
  key: string;
  ctx: RequestContext;
  /** The platform admin's words for a suspension: kept for the operator and the portal, never public. */
  reason?: string;
  details?: Record<string, unknown>;
  /** What the step's mail says beyond the status (the final backups of a cancellation). */
  mailVars?: Record<string, unknown>;
}

/** What a transition changed, for the work after its commit (stopping, starting, the edge). */
export interface Change {
  organizationId: string;
  from: SubscriptionStatus;
  to: SubscriptionStatus;
  /** Instances to start again (a resume). */
  start: string[];
}

function auditActionOf(cause: TransitionCause, from: SubscriptionStatus, to: SubscriptionStatus) {
  if (to === 'suspended') return 'subscription.suspend' as const;
  if (to === 'cancelled') return 'subscription.cancel' as const;
  if (from === 'suspended') return 'subscription.resume' as const;
  if (cause === 'convert') return 'subscription.convert' as const;
  // past_due and back (#20) have no verb yet: the event row records them.
  return undefined;
}

/**
 * The subscription's lifecycle. `transition` is the only code that changes `subscriptions.status`:
 * in the caller's transaction it records the step (its unique key: a second try changes nothing),
 * the new status, the audit event and the owners' mail, so they commit together or not at all.
 */
export class LifecycleService {
  constructor(private readonly deps: LifecycleServiceDeps) {}

  async get(organizationId: string): Promise<Subscription | undefined> {
    return this.deps.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
  }

  /**
   * Moves the subscription to `to`; null when its step's key was recorded before (done already).
   * Refused (409) when the machine does not allow it.
   */
  async transition(trx: Db, organizationId: string, to: SubscriptionStatus, cause: Cause): Promise<Change | null> {
    const now = this.deps.clock.now();
    // The lock new instances take (requireNewInstance): a create racing a suspension waits for it,
    // then sees it; or the suspension waits for the create and finds (and stops) its instance.
    await lockOrganization(trx, organizationId);
    const sub = await trx
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .forUpdate()
      .executeTakeFirst();
    if (!sub) throw notFound('Subscription');
    const organization = await organizationFacts(trx, organizationId);
    if (!organization) throw notFound('Organization');
    const from = sub.status;
    const kind = to === 'suspended' ? suspendedKindOf(cause.cause) : null;
    const recorded = await recordStep(trx, organizationId, {
      key: cause.key,
      cause: cause.cause,
      from,
      to,
      at: now,
      details: { ...cause.details, ...(kind ? { kind } : {}) },
    });
    // Done before (another tick, another process, a retry): nothing more. Checked before the machine,
    // so a step that raced another finds it done rather than refused.
    if (!recorded) return null;
    const refused = refusal({
      from,
      to,
      cause: cause.cause,
      trialEndsAt: sub.trial_ends_at,
      now,
      deletionStarted: sub.deletion_started_at !== null,
    });
    // Thrown: the transaction, with the step's row, rolls back.
    if (refused) throw new MarinaError('MARINA_E_CONFLICT', refused, { from, to });
    const settings = await readLifecycleSettings(trx);
    const patch: Partial<Record<keyof SubscriptionsTable, unknown>> = { status: to, updated_at: now };
    let start: string[] = [];
    if (to === 'suspended') {
      const running = await trx
        .selectFrom('instances')
        .select('id')
        .where('organization_id', '=', organizationId)
        .where('status', 'in', RUNNING)
        .execute();
      Object.assign(patch, {
        suspended_at: now,
        suspended_kind: kind,
        suspended_reason: cause.reason ?? null,
        suspended_from: from,
        suspended_running: JSON.stringify(running.map((r) => r.id)),
        grace_ends_at: new Date(now.getTime() + settings.graceDays * DAY_MS),
        // A new suspension's grace end has not begun (a mark left by a grace end that a resume beat).
        deletion_started_at: null,
      });
    } else if (from === 'suspended' && to !== 'cancelled') {
      start = sub.suspended_running;
      Object.assign(patch, {
        suspended_at: null,
        suspended_kind: null,
        suspended_reason: null,
        suspended_from: null,
        suspended_running: '[]',
        grace_ends_at: null,
        deletion_started_at: null,
      });
    }
    if (to === 'active' && !sub.activated_at) patch.activated_at = now;
    // Converting ends the trial at once (its reminders' keys no longer match anything due).
    if (to === 'active' && sub.trial_ends_at && sub.trial_ends_at > now) patch.trial_ends_at = now;
    if (to === 'cancelled') patch.cancelled_at = now;
    await trx
      .updateTable('subscriptions')
      .set(patch as never)
      .where('organization_id', '=', organizationId)
      .execute();
    const action = auditActionOf(cause.cause, from, to);
    if (action) {
      const entry = {
        action,
        organizationId,
        target: subscriptionTarget(organization),
        details: { from, to, cause: cause.cause, step: cause.key, ...(cause.reason ? { reason: cause.reason } : {}) },
      } as AuditEntry;
      await this.deps.audit.record(cause.ctx, entry, trx);
    }
    const notice = noticeOf(from, to, kind);
    if (notice) {
      const graceEndsAt = patch.grace_ends_at as Date | undefined;
      await mailOwners(trx, this.deps.notices, organization, {
        key: notice,
        stepKey: cause.key,
        portalUrl: this.deps.publicUrl,
        vars: {
          ...(graceEndsAt ? { grace_ends_at: graceEndsAt.toISOString() } : {}),
          // The kind of suspension, never the admin's own words.
          ...(kind ? { reason: kind === 'admin' ? 'operator' : kind, since: now.toISOString() } : {}),
          ...cause.mailVars,
        },
      });
    }
    return { organizationId, from, to, start };
  }

  /**
   * After a transition committed: a suspended organization's instances stop and its sites show why;
   * a resumed one's instances that ran start again. Best effort: the ticker reconciles what fails.
   */
  async afterChange(change: Change | null, reason: string): Promise<void> {
    if (!change) return;
    if (change.to === 'suspended') await this.stopRunning(change.organizationId);
    for (const id of change.start) await this.startStopped(id);
    this.deps.edge.sync(reason);
    await this.deps.notices.drain().catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, 'lifecycle: the outbox could not be drained now (it retries)');
    });
  }

  /** Queues a stop for each running instance of the organization that no job holds. */
  async stopRunning(organizationId: string): Promise<string[]> {
    const running = await this.deps.db
      .selectFrom('instances')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('status', 'in', RUNNING)
      .execute();
    const jobs: string[] = [];
    for (const instance of running) {
      const job = await this.submitIdle(instance, 'stop');
      if (job) jobs.push(job);
    }
    return jobs;
  }

  /** Queues a start for a stopped instance no job holds (the ticker retries one a job held). */
  async startStopped(instanceId: string): Promise<string | undefined> {
    const instance = await this.deps.db
      .selectFrom('instances')
      .selectAll()
      .where('id', '=', instanceId)
      .executeTakeFirst();
    if (!instance || !['stopped', 'exited'].includes(instance.status)) return undefined;
    return this.submitIdle(instance, 'start');
  }

  /** A start or stop as the instance's buttons do it, by the system; none while a job holds it. */
  private async submitIdle(instance: Instance, action: 'start' | 'stop'): Promise<string | undefined> {
    try {
      await this.deps.instances.requireIdle(instance);
      const op = await this.deps.instances.submit(
        systemContext('lifecycle'),
        instance,
        planJob(lifecycleJobs[action], {}),
        `instance.${action}`,
        { details: { why: 'subscription' } },
      );
      return op.id;
    } catch (error) {
      this.deps.logger.info({ instance: instance.id, err: error }, `lifecycle: ${action} waits for the next tick`);
      return undefined;
    }
  }

  /** Gives an organization a plan (platform admin): a trial of the plan's length, or paid at once. */
  async give(
    ctx: RequestContext,
    organizationId: string,
    input: { planId: string; trial: boolean },
  ): Promise<Subscription> {
    requirePlatformAdmin(ctx.actor);
    await this.organization(organizationId);
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      const made = await this.deps.subscriptions.start(trx, organizationId, input.planId, {
        trial: input.trial,
        who: ctx,
      });
      await recordStep(trx, organizationId, {
        key: `create:${now.toISOString()}`,
        cause: 'create',
        to: made.status,
        at: now,
        details: { plan: made.plan_id, trialEndsAt: made.trial_ends_at?.toISOString() ?? null },
      });
    });
    return this.require(organizationId);
  }

  /** Suspends (platform admin): instances stop, sites say so, owners are mailed; data is kept. */
  async suspend(ctx: RequestContext, organizationId: string, reason: string): Promise<Subscription> {
    requirePlatformAdmin(ctx.actor);
    const sub = await this.require(organizationId);
    if (sub.status === 'suspended' || sub.status === 'cancelled')
      throw new MarinaError('MARINA_E_CONFLICT', `The organization is ${sub.status} already.`);
    const key = `suspend:${this.deps.clock.now().toISOString()}`;
    const change = await this.deps.db
      .transaction()
      .execute((trx) =>
        this.transition(trx, organizationId, 'suspended', { cause: 'admin_suspend', key, ctx, reason }),
      );
    await this.afterChange(change, 'organization suspended');
    return this.require(organizationId);
  }

  /**
   * Resumes (platform admin, or a payment in #20): back to the status it was suspended from, the
   * instances that ran start again. A trial that has ended needs extending or converting first.
   */
  async resume(ctx: RequestContext, organizationId: string): Promise<Subscription> {
    requirePlatformAdmin(ctx.actor);
    const sub = await this.require(organizationId);
    if (sub.status !== 'suspended' || !sub.suspended_at)
      throw new MarinaError('MARINA_E_CONFLICT', 'The organization is not suspended.');
    const to = sub.suspended_from ?? 'active';
    const key = `resume:${sub.suspended_at.toISOString()}`;
    const change = await this.deps.db
      .transaction()
      .execute((trx) => this.transition(trx, organizationId, to, { cause: 'resume', key, ctx }));
    await this.afterChange(change, 'organization resumed');
    return this.require(organizationId);
  }

  /**
   * Extends the trial by `days` from its end (or from now, when it has ended); an organization
   * suspended because its trial ended resumes. Its reminders are due again for the new end.
   */
  async extendTrial(ctx: RequestContext, organizationId: string, days: number): Promise<Subscription> {
    requirePlatformAdmin(ctx.actor);
    const now = this.deps.clock.now();
    const change = await this.deps.db.transaction().execute(async (trx) => {
      // Before the row lock, in the order `transition` takes them (no deadlock with a resume).
      await lockOrganization(trx, organizationId);
      const sub = await trx
        .selectFrom('subscriptions')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .forUpdate()
        .executeTakeFirst();
      if (!sub) throw notFound('Subscription');
      const endedTrial = sub.status === 'suspended' && sub.suspended_kind === 'trial_ended';
      if (sub.status !== 'trialing' && !endedTrial)
        throw new MarinaError('MARINA_E_CONFLICT', `Only a trial can be extended; this subscription is ${sub.status}.`);
      const base = sub.trial_ends_at && sub.trial_ends_at > now ? sub.trial_ends_at : now;
      const until = new Date(base.getTime() + days * DAY_MS);
      const organization = await this.organization(organizationId);
      await recordStep(trx, organizationId, {
        key: `extend_trial:${until.toISOString()}`,
        cause: 'extend_trial',
        from: sub.status,
        to: sub.status,
        at: now,
        details: { days, from: sub.trial_ends_at?.toISOString() ?? null, until: until.toISOString() },
      });
      await trx
        .updateTable('subscriptions')
        .set({ trial_ends_at: until, updated_at: now })
        .where('organization_id', '=', organizationId)
        .execute();
      await this.audit(trx, ctx, organization, {
        action: 'subscription.extend_trial',
        details: { days, until: until.toISOString() },
      });
      if (!endedTrial || !sub.suspended_at) return null;
      return this.transition(trx, organizationId, 'trialing', {
        cause: 'extend_trial',
        key: `resume:${sub.suspended_at.toISOString()}`,
        ctx,
      });
    });
    await this.afterChange(change, 'organization resumed');
    return this.require(organizationId);
  }

  /** Converts a trial to a paid subscription (an admin now, a payment in #20); a suspended trial resumes. */
  async convertToPaid(ctx: RequestContext, organizationId: string): Promise<Subscription> {
    requirePlatformAdmin(ctx.actor);
    const sub = await this.require(organizationId);
    const trial = sub.status === 'trialing' || (sub.status === 'suspended' && sub.suspended_kind === 'trial_ended');
    if (!trial)
      throw new MarinaError('MARINA_E_CONFLICT', `Only a trial can be converted; this subscription is ${sub.status}.`);
    const key = `convert:${(sub.trial_started_at ?? sub.created_at).toISOString()}`;
    const change = await this.deps.db
      .transaction()
      .execute((trx) => this.transition(trx, organizationId, 'active', { cause: 'convert', key, ctx }));
    await this.afterChange(change, 'organization converted');
    return this.require(organizationId);
  }

  /** The subscription as the platform admin sees it (with the suspension's reason). */
  async view(ctx: RequestContext, organizationId: string): Promise<Subscription> {
    requirePlatformAdmin(ctx.actor);
    return this.require(organizationId);
  }

  /** The operator's overview of customers (platform admins). */
  overview(actor: Actor, query: OverviewQuery): Promise<CustomersOverview> {
    return customersOverview(this.deps.db, actor, query);
  }

  async require(organizationId: string): Promise<Subscription> {
    const sub = await this.get(organizationId);
    if (!sub) throw notFound('Subscription');
    return sub;
  }

  /** The organization (for a step outside a transition: reminders, trial extension). */
  async organization(organizationId: string): Promise<OrganizationFacts> {
    const organization = await organizationFacts(this.deps.db, organizationId);
    if (!organization) throw notFound('Organization');
    return organization;
  }

  /** Records an audit event of a subscription step in the step's transaction. */
  async audit(
    trx: Db,
    ctx: RequestContext,
    organization: OrganizationFacts,
    entry: Omit<AuditEntry, 'target' | 'organizationId'>,
  ) {
    await this.deps.audit.record(
      ctx,
      { ...entry, organizationId: organization.id, target: subscriptionTarget(organization) } as AuditEntry,
      trx,
    );
  }

  get notices(): Notices {
    return this.deps.notices;
  }

  get publicUrl(): string {
    return this.deps.publicUrl;
  }
}

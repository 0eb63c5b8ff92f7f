import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import { systemContext } from '../../platform/context.js';
import { planJob } from '../../platform/jobs/define.js';
import type { BackupService } from '../backups/service.js';
import { deleteJob } from '../instances/job-specs.js';
import type { InstanceService } from '../instances/service.js';
import { DAY_MS, type DueStep, dueSteps, graceEndKey } from './machine.js';
import type { LifecycleService, Subscription } from './service.js';
import { type LifecycleSettings, readLifecycleSettings } from './settings.js';
import { mailOwners, recordedKeys, recordStep } from './steps.js';

export interface LifecycleTickerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  lifecycle: LifecycleService;
  instances: InstanceService;
  /** Removes a backup with its offsite copies (the backups module's), for final backups that expired. */
  backups: Pick<BackupService, 'removeRecordAndCopies'>;
}

/** What one tick did, for the logs and the tests. */
export interface TickReport {
  steps: { organizationId: string; key: string; outcome: 'done' | 'skipped' | 'waiting' }[];
  stopped: string[];
  /** Starts queued for resumed organizations' instances whose start a job had held off. */
  started: string[];
  deleting: string[];
  /** Final backups removed because they expired. */
  expired: string[];
}

/** A delete that failed (its safety backup, say) is tried again after this long, not at every tick. */
const DELETE_RETRY_MS = 15 * 60_000;
const system = systemContext('lifecycle');

/**
 * The subscriptions' clock: trial reminders, trial ends, grace ends, and keeping suspended
 * organizations' instances stopped. Driven by `tick()` — a timer in the server, the test's own
 * clock in tests — and idempotent: every step is keyed (subscription_events), so a tick after a
 * restart, or two Marina processes ticking at once, do each step once; what is due by time alone is
 * caught up after downtime.
 */
export class LifecycleTicker {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> | undefined;

  constructor(private readonly deps: LifecycleTickerDeps) {}

  async tick(): Promise<TickReport> {
    const now = this.deps.clock.now();
    const settings = await readLifecycleSettings(this.deps.db);
    const report: TickReport = { steps: [], stopped: [], started: [], deleting: [], expired: [] };
    const horizon = new Date(now.getTime() + Math.max(...settings.reminderDays) * DAY_MS);
    const candidates = await this.deps.db
      .selectFrom('subscriptions')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'trialing'), eb('trial_ends_at', '<=', horizon)]),
          eb('status', '=', 'suspended'),
        ]),
      )
      .orderBy('organization_id')
      .execute();
    for (const sub of candidates) {
      try {
        await this.stepsOf(sub, now, settings, report);
      } catch (error) {
        this.deps.logger.error(
          { err: error, organization: sub.organization_id },
          'lifecycle: a step failed; next tick',
        );
      }
    }
    report.stopped = await this.keepStopped();
    report.started = await this.startResumed();
    report.expired = await this.removeExpired(now);
    await this.deps.lifecycle.notices.drain().catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, 'lifecycle: the outbox could not be drained now (it retries)');
    });
    return report;
  }

  private async stepsOf(sub: Subscription, now: Date, settings: LifecycleSettings, report: TickReport): Promise<void> {
    const facts = {
      status: sub.status,
      trialEndsAt: sub.trial_ends_at,
      suspendedAt: sub.suspended_at,
      graceEndsAt: sub.grace_ends_at,
    };
    const due = dueSteps(facts, now, settings.reminderDays);
    const done = await recordedKeys(
      this.deps.db,
      sub.organization_id,
      due.map((s) => s.key),
    );
    for (const step of due) {
      if (done.has(step.key)) continue;
      const outcome = await this.run(sub, step, now);
      report.steps.push({ organizationId: sub.organization_id, key: step.key, outcome });
      if (step.kind === 'grace_end' && outcome === 'waiting') report.deleting.push(sub.organization_id);
    }
  }

  private async run(sub: Subscription, step: DueStep, now: Date): Promise<'done' | 'skipped' | 'waiting'> {
    const orgId = sub.organization_id;
    const { lifecycle } = this.deps;
    if (step.kind === 'reminder') {
      const organization = await lifecycle.organization(orgId);
      await this.deps.db.transaction().execute(async (trx) => {
        const recorded = await recordStep(trx, orgId, {
          key: step.key,
          cause: 'reminder',
          outcome: step.outcome === 'send' ? 'done' : 'skipped',
          at: now,
          details: { daysLeft: step.daysLeft, due: step.at.toISOString(), ...(step.why ? { why: step.why } : {}) },
        });
        if (!recorded || step.outcome === 'skip') return;
        const trialEndsAt = sub.trial_ends_at?.toISOString() ?? '';
        const sent = await mailOwners(trx, lifecycle.notices, organization, {
          key: 'trial_reminder',
          stepKey: step.key,
          portalUrl: lifecycle.publicUrl,
          vars: { days_left: step.daysLeft, trial_ends_at: trialEndsAt },
        });
        await lifecycle.audit(trx, system, organization, {
          action: 'subscription.reminder',
          details: { daysLeft: step.daysLeft, trialEndsAt, owners: sent },
        });
      });
      return step.outcome === 'send' ? 'done' : 'skipped';
    }
    if (step.kind === 'trial_end') {
      const change = await this.deps.db
        .transaction()
        .execute((trx) =>
          lifecycle.transition(trx, orgId, 'suspended', { cause: 'trial_end', key: step.key, ctx: system }),
        );
      await lifecycle.afterChange(change, 'trial ended');
      return 'done';
    }
    return this.graceEnd(sub, now);
  }

  /**
   * The end of the grace period, over as many ticks as it takes: every remaining instance is deleted
   * through the normal delete (its safety backup first — if that fails the delete fails and the data
   * stays, tried again later); when none remains, those backups are kept `finalBackupDays` and the
   * subscription is cancelled, in one step.
   */
  private async graceEnd(sub: Subscription, now: Date): Promise<'done' | 'waiting'> {
    const orgId = sub.organization_id;
    const { db, instances, lifecycle } = this.deps;
    const suspendedAt = sub.suspended_at;
    if (!suspendedAt) return 'waiting';
    // Only the suspension this tick read, its grace over: a resume since then ends this grace end.
    // Once marked, a resume is refused (the transition reads the mark under the row lock).
    await db
      .updateTable('subscriptions')
      .set({ deletion_started_at: now })
      .where('organization_id', '=', orgId)
      .where('status', '=', 'suspended')
      .where('suspended_at', '=', suspendedAt)
      .where('grace_ends_at', '<=', now)
      .where('deletion_started_at', 'is', null)
      .execute();
    const remaining = await db.selectFrom('instances').selectAll().where('organization_id', '=', orgId).execute();
    for (const instance of remaining) {
      // A job on it (the delete itself, a backup) finishes first; an interrupted delete left it `failed`.
      const active = await db
        .selectFrom('operations')
        .select('id')
        .where('target_id', '=', instance.id)
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      if (active) continue;
      const lastDelete = await db
        .selectFrom('operations')
        .select(['status', 'finished_at'])
        .where('target_id', '=', instance.id)
        .where('kind', '=', 'instance.delete')
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (lastDelete?.finished_at && now.getTime() - lastDelete.finished_at.getTime() < DELETE_RETRY_MS) continue;
      // Claimed first, as read: of two ticks at once (a timer's and another process's) one deletes.
      // A claim whose job never got queued (a crash between the two) is taken again once stale.
      const stale = new Date(now.getTime() - DELETE_RETRY_MS);
      const claimed = await db
        .updateTable('instances')
        .set({ status: 'deleting', status_detail: 'The grace period ended: deleting.', status_changed_at: now })
        .where('id', '=', instance.id)
        .where('status', '=', instance.status)
        .where('status_changed_at', '=', instance.status_changed_at)
        .where((eb) => eb.or([eb('status', '<>', 'deleting'), eb('status_changed_at', '<', stale)]))
        // In the same statement: the subscription is still this suspension, past its grace, marked
        // deleting (so no resume can come between the check and the claim).
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('subscriptions')
              .select('subscriptions.organization_id')
              .where('subscriptions.organization_id', '=', orgId)
              .where('subscriptions.status', '=', 'suspended')
              .where('subscriptions.suspended_at', '=', suspendedAt)
              .where('subscriptions.grace_ends_at', '<=', now)
              .where('subscriptions.deletion_started_at', 'is not', null),
          ),
        )
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) continue;
      try {
        await instances.submit(system, instance, planJob(deleteJob, {}), 'instance.delete', {
          details: { why: 'the grace period of a suspended subscription ended' },
        });
      } catch (error) {
        this.deps.logger.error({ err: error, instance: instance.id }, 'lifecycle: a grace-end delete could not start');
      }
    }
    if (remaining.length > 0) return 'waiting';
    const settings = await readLifecycleSettings(db);
    const expiresAt = new Date(now.getTime() + settings.finalBackupDays * DAY_MS);
    const fresh = await lifecycle.require(orgId);
    // Resumed (and maybe suspended anew) before this grace end marked it: nothing to cancel.
    if (!fresh.deletion_started_at || fresh.suspended_at?.getTime() !== suspendedAt.getTime()) return 'waiting';
    const started = fresh.deletion_started_at;
    const change = await db.transaction().execute(async (trx) => {
      const kept = await trx
        .updateTable('backups')
        .set({ expires_at: expiresAt })
        .where('organization_id', '=', orgId)
        .where('trigger', '=', 'pre-delete')
        .where('created_at', '>=', started)
        .where('expires_at', 'is', null)
        .returning(['id', 'instance_label'])
        .execute();
      return lifecycle.transition(trx, orgId, 'cancelled', {
        cause: 'grace_end',
        key: graceEndKey(suspendedAt),
        ctx: system,
        details: { finalBackups: kept.map((b) => b.id), expiresAt: expiresAt.toISOString() },
        mailVars: {
          backups: kept.map((b) => ({
            instance: b.instance_label,
            expires_at: expiresAt.toISOString(),
            url: `${lifecycle.publicUrl}/api/v1/backups/${b.id}/download`,
          })),
        },
      });
    });
    await lifecycle.afterChange(change, 'subscription cancelled');
    return 'done';
  }

  /**
   * Reconciling, not one-shot: a suspended or cancelled organization's instance that runs (started
   * by hand before the quota gate, or by Docker's restart policy) with no job holding it is stopped.
   */
  private async keepStopped(): Promise<string[]> {
    const orgs = await this.deps.db
      .selectFrom('subscriptions')
      .innerJoin('instances', 'instances.organization_id', 'subscriptions.organization_id')
      .select('subscriptions.organization_id')
      .distinct()
      .where('subscriptions.status', 'in', ['suspended', 'cancelled'])
      .execute();
    const jobs: string[] = [];
    for (const { organization_id } of orgs) jobs.push(...(await this.deps.lifecycle.stopRunning(organization_id)));
    return jobs;
  }

  /**
   * Reconciling the other way: a resume starts what the suspension stopped, but a job that held an
   * instance at that moment (the suspension's own stop finishing, a backup) made it wait. An instance
   * whose last start or stop was the lifecycle's, in an organization no longer suspended, starts now;
   * one stopped or started by a person since is theirs to run.
   */
  private async startResumed(): Promise<string[]> {
    const stopped = await this.deps.db
      .selectFrom('instances')
      .innerJoin('subscriptions', 'subscriptions.organization_id', 'instances.organization_id')
      // Only the stopped instances of organizations in good standing, each with its own last start or
      // stop (an index read per instance), not every start and stop ever recorded.
      .innerJoinLateral(
        (eb) =>
          eb
            .selectFrom('operations')
            .select(['kind', 'actor_label'])
            // operations.target_id is text (it names any kind of target).
            .where(sql<boolean>`${sql.ref('operations.target_id')} = ${sql.ref('instances.id')}::text`)
            .where('kind', 'in', ['instance.start', 'instance.stop'])
            .orderBy('created_at', 'desc')
            .orderBy('id', 'desc')
            .limit(1)
            .as('last'),
        (join) => join.onTrue(),
      )
      .select('instances.id')
      .where('subscriptions.status', 'not in', ['suspended', 'cancelled'])
      .where('instances.status', 'in', ['stopped', 'exited'])
      .where('last.kind', '=', 'instance.stop')
      .where('last.actor_label', '=', 'lifecycle')
      .execute();
    const jobs: string[] = [];
    for (const { id } of stopped) {
      const job = await this.deps.lifecycle.startStopped(id);
      if (job) jobs.push(job);
    }
    return jobs;
  }

  /** Final backups past their `expires_at` go (a pinned one stays: someone chose to keep it). */
  private async removeExpired(now: Date): Promise<string[]> {
    const expired = await this.deps.db
      .selectFrom('backups')
      .selectAll()
      .where('expires_at', '<=', now)
      .where('pinned', '=', false)
      .where('status', 'not in', ['pending', 'running'])
      .execute();
    const removed: string[] = [];
    for (const backup of expired) {
      try {
        await this.deps.backups.removeRecordAndCopies(system, backup);
        removed.push(backup.id);
      } catch (error) {
        this.deps.logger.warn(
          { err: error, backup: backup.id },
          'lifecycle: an expired backup stays until the next tick',
        );
      }
    }
    return removed;
  }

  /** The ticker's timer. Ticks never overlap; an error is logged and the next tick tries again. */
  start(intervalMs: number): void {
    void this.stop();
    const run = () => {
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'the lifecycle ticker failed a tick'))
        .finally(() => {
          this.ticking = undefined;
        });
    };
    run();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }
}

import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { type Backup, backupFormats, backupKinds, type Instance, type Schedule } from '../../db/schema.js';
import type { AuditService } from '../../platform/audit/service.js';
import { instanceTarget } from '../../platform/audit/targets.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { systemContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { planJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import type { NotificationService } from '../../platform/notifications.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { invalid, isUuid, oneOf } from '../../platform/validation.js';
import { verifyBackupJob } from '../backups/jobs/specs.js';
import type { BackupService } from '../backups/service.js';
import { actorLabel, type BackupView } from '../backups/views.js';
import type { InstanceService } from '../instances/service.js';
import type { DestinationService } from './destinations.js';
import { defaultSchedule, type RetentionSettings, validateRetentionSettings } from './schedule-settings.js';
import { scheduleStatus } from './schedule-status.js';
import { describeSchedule, nextRun, type ScheduleSpec, validateSchedule } from './schedule-time.js';
import type { Schedule as ScheduleSchema } from './schemas.js';

/** An instance's backup schedule (the `Schedule` schema). */
export type ScheduleView = Static<typeof ScheduleSchema>;

export interface TickOutcome {
  instanceId: string;
  outcome: 'started' | 'skipped' | 'postponed' | 'failed';
  detail: string;
  jobId?: string;
}

export interface ScheduleServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  instances: InstanceService;
  backups: BackupService;
  destinations: DestinationService;
  operations: OperationService;
  runner: JobRunner;
  notifications: NotificationService | undefined;
  publicUrl: string;
  logger: Logger;
}

/**
 * Backup schedules, one per instance, and the scheduler that starts their runs. The scheduler is
 * driven by `tick()` — a timer in the server, the test's own clock in tests — and claims each due
 * run with a conditional update, so two Marina processes never start the same run twice.
 */
export class ScheduleService {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> | undefined;

  constructor(private readonly deps: ScheduleServiceDeps) {}

  /** The schedule as the API shows it, with its last run's state and its destinations' warnings. */
  async view(s: Schedule): Promise<ScheduleView> {
    const status = await scheduleStatus(this.deps.db, this.deps.backups.queries, s);
    const spec = s.spec as unknown as ScheduleSpec;
    return {
      instanceId: s.instance_id,
      enabled: s.enabled,
      spec,
      description: describeSchedule(spec),
      kind: s.kind,
      format: s.format,
      destinationIds: s.destination_ids,
      retention: s.retention as unknown as RetentionSettings,
      verifyEveryDays: s.verify_every_days,
      nextRunAt: s.next_run_at?.toISOString() ?? null,
      lastRunAt: s.last_run_at?.toISOString() ?? null,
      lastJobId: s.last_operation_id,
      lastVerifiedAt: s.last_verified_at?.toISOString() ?? null,
      lastRun: status.lastRun,
      destinationWarnings: status.destinationWarnings,
      updatedBy: s.updated_by,
      updatedAt: s.updated_at.toISOString(),
    };
  }

  async row(instanceId: string): Promise<Schedule | undefined> {
    return this.deps.db.selectFrom('schedules').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
  }

  async get(ctx: RequestContext, instanceId: string): Promise<ScheduleView | null> {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    const row = await this.row(instance.id);
    return row ? this.view(row) : null;
  }

  async set(ctx: RequestContext, instanceId: string, raw: unknown): Promise<ScheduleView> {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'backup.manage');
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw invalid('body', 'The schedule is an object.');
    const input = raw as Record<string, unknown>;
    const enabled = input.enabled ?? true;
    if (typeof enabled !== 'boolean') throw invalid('enabled', 'enabled must be true or false.');
    const spec = validateSchedule(input.spec);
    const kind = oneOf(input.kind, backupKinds, 'kind', defaultSchedule.kind);
    const format = oneOf(input.format, backupFormats, 'format', defaultSchedule.format);
    const ids = input.destinationIds ?? [];
    if (!Array.isArray(ids) || ids.length > 10 || ids.some((id) => typeof id !== 'string' || !isUuid(id)))
      throw invalid('destinationIds', 'destinationIds is a list of up to 10 destination ids.');
    const unique = [...new Set(ids as string[])];
    await this.deps.destinations.usableBy(instance.organization_id, unique);
    const retention = validateRetentionSettings(input.retention, unique);
    const verify = input.verifyEveryDays ?? null;
    if (verify !== null && (typeof verify !== 'number' || !Number.isInteger(verify) || verify < 1 || verify > 90))
      throw invalid('verifyEveryDays', 'verifyEveryDays is a whole number of days from 1 to 90, or null.');
    const now = this.deps.clock.now();
    const values = {
      enabled,
      spec: JSON.stringify(spec),
      kind,
      format,
      destination_ids: JSON.stringify(unique),
      retention: JSON.stringify(retention),
      verify_every_days: verify as number | null,
      next_run_at: enabled ? nextRun(spec, now) : null,
      updated_by: actorLabel(ctx.actor),
      updated_at: now,
    };
    const row = await this.deps.db.transaction().execute(async (trx) => {
      // The plan's retention caps (the most kept anywhere) and its offsite allowance (src/modules/plans).
      const policies = [retention.local, ...Object.values(retention.destinations)];
      const most = (key: 'daily' | 'weekly' | 'monthly') => Math.max(0, ...policies.map((p) => p[key]));
      const quotas = this.deps.instances.quotas;
      await quotas.require(trx, instance.organization_id, {
        kind: 'retention',
        daily: most('daily'),
        weekly: most('weekly'),
        monthly: most('monthly'),
      });
      if (unique.length > 0) await quotas.require(trx, instance.organization_id, { kind: 'offsite', bytes: 0 });
      const saved = await trx
        .insertInto('schedules')
        .values({ instance_id: instance.id, ...values })
        .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.update_schedule',
          organizationId: instance.organization_id,
          target: await instanceTarget(trx, instance),
          details: { enabled, schedule: describeSchedule(spec), kind, format, destinations: unique, retention },
        },
        trx,
      );
      return saved;
    });
    return this.view(row);
  }

  /** "Run now": the schedule's run, started at once; the timetable is unchanged. */
  async runNow(ctx: RequestContext, instanceId: string): Promise<{ backup: BackupView; job: OperationView }> {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'backup.manage');
    const schedule = await this.row(instance.id);
    if (!schedule) throw new MarinaError('MARINA_E_NO_SCHEDULE', 'This instance has no backup schedule yet.');
    const started = await this.launch(ctx, instance, schedule);
    await this.deps.db
      .updateTable('schedules')
      .set({ last_run_at: this.deps.clock.now(), last_operation_id: started.job.id })
      .where('instance_id', '=', instance.id)
      .execute();
    return started;
  }

  private async launch(ctx: RequestContext, instance: Instance, schedule: Schedule) {
    const destinations = await this.deps.destinations.usableBy(instance.organization_id, schedule.destination_ids);
    return this.deps.backups.submitCreate(ctx, instance, {
      kind: schedule.kind,
      format: schedule.format,
      trigger: 'schedule',
      destinations,
      retention: true,
    });
  }

  /**
   * Starts the runs that are due. A run missed while Marina was down is due once (the next run is
   * computed from now, not from the missed time). A run whose previous one is still going is
   * skipped; one blocked by another job on the instance (a restore, say) waits for the next tick.
   */
  async tick(): Promise<TickOutcome[]> {
    const now = this.deps.clock.now();
    const outcomes: TickOutcome[] = [];
    const due = await this.deps.db
      .selectFrom('schedules')
      .selectAll()
      .where('enabled', '=', true)
      .where('next_run_at', '<=', now)
      .orderBy('next_run_at')
      .execute();
    for (const schedule of due) outcomes.push(await this.runDue(schedule, now));
    await this.verifyDue(now);
    return outcomes;
  }

  private async runDue(schedule: Schedule, now: Date): Promise<TickOutcome> {
    const instanceId = schedule.instance_id;
    const spec = schedule.spec as unknown as ScheduleSpec;
    const claimed = await this.deps.db
      .updateTable('schedules')
      .set({ next_run_at: nextRun(spec, now), last_run_at: now })
      .where('instance_id', '=', instanceId)
      .where('next_run_at', '=', schedule.next_run_at as Date)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return { instanceId, outcome: 'skipped', detail: 'claimed elsewhere' };
    const instance = await this.deps.instances.row(instanceId);
    const active = await this.deps.db
      .selectFrom('operations')
      .select(['id', 'kind'])
      .where('target_id', '=', instanceId)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirst();
    if (active?.kind === 'backup.create') {
      this.deps.logger.warn(
        { instance: instanceId, job: active.id },
        'scheduled backup skipped: the previous one is still running',
      );
      return { instanceId, outcome: 'skipped', detail: 'the previous backup is still running', jobId: active.id };
    }
    if (active || ['restoring', 'deleting', 'provisioning'].includes(instance.status)) {
      // Put the claim back: the run waits for the instance's other job, then starts once.
      await this.deps.db
        .updateTable('schedules')
        .set({ next_run_at: schedule.next_run_at, last_run_at: schedule.last_run_at })
        .where('instance_id', '=', instanceId)
        .execute();
      return { instanceId, outcome: 'postponed', detail: `the instance is busy (${active?.kind ?? instance.status})` };
    }
    try {
      const started = await this.launch(systemContext('scheduler'), instance, schedule);
      await this.deps.db
        .updateTable('schedules')
        .set({ last_operation_id: started.job.id })
        .where('instance_id', '=', instanceId)
        .execute();
      return { instanceId, outcome: 'started', detail: 'backup started', jobId: started.job.id };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.deps.logger.error({ instance: instanceId, err: error }, 'a scheduled backup could not start');
      await this.deps.notifications?.backupFailed({
        organizationId: instance.organization_id,
        instanceId,
        instanceLabel: await this.deps.backups.labelOf(instance).catch(() => instance.name),
        trigger: 'schedule',
        what: 'backup',
        error: message,
        at: now,
        url: `${this.deps.publicUrl}/instances/${instanceId}/backups`,
      });
      return { instanceId, outcome: 'failed', detail: message };
    }
  }

  /** Test restores of the newest backup of instances whose schedule asks for them, when due. */
  private async verifyDue(now: Date): Promise<void> {
    const schedules = await this.deps.db
      .selectFrom('schedules')
      .selectAll()
      .where('enabled', '=', true)
      .where('verify_every_days', 'is not', null)
      .execute();
    for (const s of schedules) {
      const days = s.verify_every_days as number;
      if (s.last_verified_at && now.getTime() - s.last_verified_at.getTime() < days * 86_400_000) continue;
      // A backup under way will be the newest: test that one, at a later tick, not the one before it.
      const writing = await this.deps.db
        .selectFrom('operations')
        .select('id')
        .where('target_id', '=', s.instance_id)
        .where('kind', '=', 'backup.create')
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      if (writing) continue;
      const latest = await this.deps.db
        .selectFrom('backups')
        .selectAll()
        .where('instance_id', '=', s.instance_id)
        .where('status', '=', 'completed')
        .where('kind', '<>', 'filestore')
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (!latest) continue;
      const claimed = await this.deps.db
        .updateTable('schedules')
        .set({ last_verified_at: now })
        .where('instance_id', '=', s.instance_id)
        .where((eb) =>
          s.last_verified_at ? eb('last_verified_at', '=', s.last_verified_at) : eb('last_verified_at', 'is', null),
        )
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) continue;
      await this.submitVerify(systemContext('scheduler'), latest);
    }
  }

  /** Queues a test restore of one backup into a throwaway database. */
  async submitVerify(ctx: RequestContext, backup: Backup): Promise<OperationView> {
    const op = await this.deps.operations.insert(this.deps.db, ctx.actor, {
      job: planJob(verifyBackupJob, { backupId: backup.id }),
      organizationId: backup.organization_id,
      hostId: null,
      target: { type: 'backup', id: backup.id, label: backup.instance_label },
    });
    await this.deps.runner.enqueue(op);
    return operationView(op);
  }

  async verifyNow(ctx: RequestContext, backupId: string): Promise<OperationView> {
    const backup = await this.deps.backups.get(ctx.actor, backupId, 'admin');
    if (backup.status !== 'completed' || backup.kind === 'filestore')
      throw new MarinaError(
        'MARINA_E_BACKUP_UNAVAILABLE',
        'Only a completed backup with a database can be test-restored.',
      );
    return this.submitVerify(ctx, backup);
  }

  /** The scheduler's timer. Ticks never overlap; an error is logged and the next tick tries again. */
  start(intervalMs: number): void {
    this.stop();
    const run = () => {
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'the backup scheduler failed a tick'))
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

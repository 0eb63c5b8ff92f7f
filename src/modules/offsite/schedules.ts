import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import {
  type Backup,
  type BackupFormat,
  type BackupKind,
  backupFormats,
  backupKinds,
  type Instance,
  type Schedule,
} from '../../db/schema.js';
import { requireAccess, requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { systemContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import type { NotificationService } from '../../platform/notifications.js';
import { invalid, isUuid, oneOf } from '../../platform/validation.js';
import { actorLabel, type BackupService, type BackupView } from '../backups/service.js';
import type { InstanceService } from '../instances/service.js';
import type { DestinationService } from './destinations.js';
import {
  defaultRetention,
  planRetention,
  type RetentionBackup,
  type RetentionPlan,
  type RetentionPolicy,
  validateRetention,
} from './retention.js';
import { describeSchedule, nextRun, type ScheduleSpec, validateSchedule } from './schedule-time.js';

export interface RetentionSettings {
  local: RetentionPolicy;
  /** Per destination id; a destination without an entry uses the local policy. */
  destinations: Record<string, RetentionPolicy>;
}

export interface ScheduleView {
  instanceId: string;
  enabled: boolean;
  spec: ScheduleSpec;
  description: string;
  kind: BackupKind;
  format: BackupFormat;
  destinationIds: string[];
  retention: RetentionSettings;
  verifyEveryDays: number | null;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastJobId: string | null;
  lastVerifiedAt: string | null;
  updatedBy: string;
  updatedAt: string;
}

/** What an instance gets when its schedule is first opened: nightly at 02:00 UTC, the default retention. */
export const defaultSchedule = {
  enabled: false,
  spec: { kind: 'daily', time: '02:00', timeZone: 'UTC' } as ScheduleSpec,
  kind: 'full' as BackupKind,
  format: 'native' as BackupFormat,
  retention: { local: defaultRetention, destinations: {} } as RetentionSettings,
};

export interface TickOutcome {
  instanceId: string;
  outcome: 'started' | 'skipped' | 'postponed' | 'failed';
  detail: string;
  jobId?: string;
}

/** Where retention is applied: the local disk, or one destination. */
export type RetentionScope = { local: true } | { destinationId: string };

/** Counts left out of a policy are 0 ("keep 3 daily" needs no zeros spelled out). */
export function completePolicy(input: unknown): RetentionPolicy {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return validateRetention(input);
  return validateRetention({ last: 0, daily: 0, weekly: 0, monthly: 0, ...(input as Record<string, unknown>) });
}

export function validateRetentionSettings(input: unknown, destinationIds: readonly string[]): RetentionSettings {
  if (input === undefined) return { local: defaultRetention, destinations: {} };
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid('retention', 'retention is { local: policy, destinations: { <id>: policy } }.');
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (key !== 'local' && key !== 'destinations') throw invalid('retention', `retention has no "${key}".`);
  const local = record.local === undefined ? defaultRetention : completePolicy(record.local);
  const destinations: Record<string, RetentionPolicy> = {};
  const given = record.destinations ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw invalid('retention', 'retention.destinations maps destination ids to policies.');
  for (const [id, policy] of Object.entries(given)) {
    if (!destinationIds.includes(id))
      throw invalid('retention', `retention.destinations names ${id}, which the schedule does not copy to.`);
    destinations[id] = completePolicy(policy);
  }
  return { local, destinations };
}

/**
 * Backup schedules, one per instance, and the scheduler that starts their runs. The scheduler is
 * driven by `tick()` — a timer in the server, the test's own clock in tests — and claims each due
 * run with a conditional update, so two Marina processes never start the same run twice.
 */
export class ScheduleService {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly instances: InstanceService,
    private readonly backups: BackupService,
    private readonly destinations: DestinationService,
    private readonly operations: OperationService,
    private readonly runner: JobRunner,
    private readonly notifications: NotificationService | undefined,
    private readonly publicUrl: string,
    private readonly logger: Logger,
  ) {}

  view(s: Schedule): ScheduleView {
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
      updatedBy: s.updated_by,
      updatedAt: s.updated_at.toISOString(),
    };
  }

  async row(instanceId: string): Promise<Schedule | undefined> {
    return this.db.selectFrom('schedules').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
  }

  async get(ctx: RequestContext, instanceId: string): Promise<ScheduleView | null> {
    const instance = await this.instances.get(ctx.actor, instanceId);
    const row = await this.row(instance.id);
    return row ? this.view(row) : null;
  }

  async set(ctx: RequestContext, instanceId: string, raw: unknown): Promise<ScheduleView> {
    const instance = await this.instances.get(ctx.actor, instanceId);
    await requireAccess(this.db, ctx.actor, instance.organization_id, 'admin', 'Instance');
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
    await this.destinations.usableBy(instance.organization_id, unique);
    const retention = validateRetentionSettings(input.retention, unique);
    const verify = input.verifyEveryDays ?? null;
    if (verify !== null && (typeof verify !== 'number' || !Number.isInteger(verify) || verify < 1 || verify > 90))
      throw invalid('verifyEveryDays', 'verifyEveryDays is a whole number of days from 1 to 90, or null.');
    const now = this.clock.now();
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
    const row = await this.db.transaction().execute(async (trx) => {
      const saved = await trx
        .insertInto('schedules')
        .values({ instance_id: instance.id, ...values })
        .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.audit.record(
        ctx,
        {
          action: 'schedule.update',
          organizationId: instance.organization_id,
          target: { type: 'instance', id: instance.id, label: instance.name },
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
    const instance = await this.instances.get(ctx.actor, instanceId);
    await requireAccess(this.db, ctx.actor, instance.organization_id, 'admin', 'Instance');
    const schedule = await this.row(instance.id);
    if (!schedule) throw new MarinaError('MARINA_E_INVALID_STATE', 'This instance has no backup schedule yet.');
    const started = await this.launch(ctx, instance, schedule);
    await this.db
      .updateTable('schedules')
      .set({ last_run_at: this.clock.now(), last_operation_id: started.job.id })
      .where('instance_id', '=', instance.id)
      .execute();
    return started;
  }

  private async launch(ctx: RequestContext, instance: Instance, schedule: Schedule) {
    const destinations = await this.destinations.usableBy(instance.organization_id, schedule.destination_ids);
    return this.backups.submitCreate(ctx, instance, {
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
    const now = this.clock.now();
    const outcomes: TickOutcome[] = [];
    const due = await this.db
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
    const claimed = await this.db
      .updateTable('schedules')
      .set({ next_run_at: nextRun(spec, now), last_run_at: now })
      .where('instance_id', '=', instanceId)
      .where('next_run_at', '=', schedule.next_run_at as Date)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0) return { instanceId, outcome: 'skipped', detail: 'claimed elsewhere' };
    const instance = await this.instances.row(instanceId);
    const active = await this.db
      .selectFrom('operations')
      .select(['id', 'kind'])
      .where('target_id', '=', instanceId)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirst();
    if (active?.kind === 'backup.create') {
      this.logger.warn(
        { instance: instanceId, job: active.id },
        'scheduled backup skipped: the previous one is still running',
      );
      return { instanceId, outcome: 'skipped', detail: 'the previous backup is still running', jobId: active.id };
    }
    if (active || ['restoring', 'deleting', 'provisioning'].includes(instance.status)) {
      // Put the claim back: the run waits for the instance's other job, then starts once.
      await this.db
        .updateTable('schedules')
        .set({ next_run_at: schedule.next_run_at, last_run_at: schedule.last_run_at })
        .where('instance_id', '=', instanceId)
        .execute();
      return { instanceId, outcome: 'postponed', detail: `the instance is busy (${active?.kind ?? instance.status})` };
    }
    try {
      const started = await this.launch(systemContext('scheduler'), instance, schedule);
      await this.db
        .updateTable('schedules')
        .set({ last_operation_id: started.job.id })
        .where('instance_id', '=', instanceId)
        .execute();
      return { instanceId, outcome: 'started', detail: 'backup started', jobId: started.job.id };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error({ instance: instanceId, err: error }, 'a scheduled backup could not start');
      await this.notifications?.backupFailed({
        organizationId: instance.organization_id,
        instanceId,
        instanceLabel: await this.backups.labelOf(instance).catch(() => instance.name),
        trigger: 'schedule',
        what: 'backup',
        error: message,
        at: now,
        url: `${this.publicUrl}/instances/${instanceId}/backups`,
      });
      return { instanceId, outcome: 'failed', detail: message };
    }
  }

  /** Test restores of the newest backup of instances whose schedule asks for them, when due. */
  private async verifyDue(now: Date): Promise<void> {
    const schedules = await this.db
      .selectFrom('schedules')
      .selectAll()
      .where('enabled', '=', true)
      .where('verify_every_days', 'is not', null)
      .execute();
    for (const s of schedules) {
      const days = s.verify_every_days as number;
      if (s.last_verified_at && now.getTime() - s.last_verified_at.getTime() < days * 86_400_000) continue;
      // A backup under way will be the newest: test that one, at a later tick, not the one before it.
      const writing = await this.db
        .selectFrom('operations')
        .select('id')
        .where('target_id', '=', s.instance_id)
        .where('kind', '=', 'backup.create')
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      if (writing) continue;
      const latest = await this.db
        .selectFrom('backups')
        .selectAll()
        .where('instance_id', '=', s.instance_id)
        .where('status', '=', 'completed')
        .where('kind', '<>', 'filestore')
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (!latest) continue;
      const claimed = await this.db
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
    const op = await this.operations.insert(this.db, ctx.actor, {
      kind: 'backup.verify',
      organizationId: backup.organization_id,
      hostId: null,
      target: { type: 'backup', id: backup.id, label: backup.instance_label },
      steps: ['fetch', 'load', 'check', 'cleanup'],
      input: { backupId: backup.id },
    });
    await this.runner.enqueue(op);
    return operationView(op);
  }

  async verifyNow(ctx: RequestContext, backupId: string): Promise<OperationView> {
    const backup = await this.backups.get(ctx.actor, backupId, 'admin');
    if (backup.status !== 'completed' || backup.kind === 'filestore')
      throw new MarinaError(
        'MARINA_E_BACKUP_UNAVAILABLE',
        'Only a completed backup with a database can be test-restored.',
      );
    return this.submitVerify(ctx, backup);
  }

  /** What retention may consider: this instance's scheduled backups, at the scope. */
  async candidates(instanceId: string, scope: RetentionScope): Promise<Backup[]> {
    let q = this.db
      .selectFrom('backups')
      .selectAll('backups')
      .where('backups.instance_id', '=', instanceId)
      .where('backups.trigger', '=', 'schedule');
    if ('local' in scope) q = q.where('backups.local_status', '=', 'present');
    else
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('backup_copies')
            .select('backup_copies.id')
            .whereRef('backup_copies.backup_id', '=', 'backups.id')
            .where('backup_copies.destination_id', '=', scope.destinationId)
            .where('backup_copies.status', '=', 'verified'),
        ),
      );
    return q.orderBy('backups.created_at', 'desc').execute();
  }

  plan(backups: readonly Backup[], policy: RetentionPolicy, timeZone: string): RetentionPlan {
    const input: RetentionBackup[] = backups.map((b) => ({
      id: b.id,
      createdAt: b.created_at,
      pinned: b.pinned,
      status: b.status,
    }));
    return planRetention(input, policy, timeZone);
  }

  /** What a policy would keep and delete, before anything is saved. */
  async preview(
    ctx: RequestContext,
    raw: unknown,
  ): Promise<{ keep: { backup: BackupView; reasons: string[] }[]; delete: BackupView[] }> {
    if (typeof raw !== 'object' || raw === null) throw invalid('body', 'The body is an object.');
    const input = raw as Record<string, unknown>;
    if (typeof input.instanceId !== 'string') throw invalid('instanceId', 'instanceId is required.');
    const instance = await this.instances.get(ctx.actor, input.instanceId);
    const policy = completePolicy(input.policy);
    const destinationId = input.destinationId ?? null;
    if (destinationId !== null && (typeof destinationId !== 'string' || !isUuid(destinationId)))
      throw invalid('destinationId', 'destinationId is a destination id, or null for the local copies.');
    const schedule = await this.row(instance.id);
    const timeZone =
      typeof input.timeZone === 'string'
        ? input.timeZone
        : ((schedule?.spec as { timeZone?: string } | undefined)?.timeZone ?? 'UTC');
    const rows = await this.candidates(instance.id, destinationId ? { destinationId } : { local: true });
    const plan = this.plan(rows, policy, timeZone);
    const views = new Map((await this.backups.views(rows)).map((v) => [v.id, v]));
    return {
      keep: plan.keep.map((k) => ({ backup: views.get(k.id) as BackupView, reasons: k.reasons })),
      delete: plan.delete.map((d) => views.get(d.id) as BackupView),
    };
  }

  /**
   * Applies an instance's retention, locally and at each destination. A local file whose offsite
   * copies are not all verified is kept; a backup with no copy left anywhere loses its record.
   */
  async applyRetention(instanceId: string, log: (message: string) => void): Promise<{ removed: number }> {
    const schedule = await this.row(instanceId);
    if (!schedule) return { removed: 0 };
    const retention = schedule.retention as unknown as RetentionSettings;
    const timeZone = (schedule.spec as { timeZone?: string }).timeZone ?? 'UTC';
    const ctx = systemContext('retention');
    let removed = 0;
    for (const destinationId of schedule.destination_ids) {
      const destination = await this.destinations.row(destinationId).catch(() => undefined);
      if (!destination) continue;
      const policy = retention.destinations[destinationId] ?? retention.local;
      const rows = await this.candidates(instanceId, { destinationId });
      for (const { id } of this.plan(rows, policy, timeZone).delete) {
        const backup = rows.find((r) => r.id === id) as Backup;
        await this.backups.copies.removeCopy(backup, destination);
        log(`Retention: removed the copy of ${id} at ${destination.name}.`);
        removed++;
      }
    }
    const local = await this.candidates(instanceId, { local: true });
    const copies = await this.backups.copies.copiesOf(local.map((b) => b.id));
    for (const { id } of this.plan(local, retention.local, timeZone).delete) {
      const backup = local.find((r) => r.id === id) as Backup;
      const mine = copies.get(id) ?? [];
      const unsettled = mine.find((c) => c.status === 'pending' || c.status === 'uploading' || c.status === 'failed');
      if (unsettled && backup.status === 'completed') {
        log(`Retention: kept ${id} on disk: its copy to ${unsettled.destinationName} is ${unsettled.status}.`);
        continue;
      }
      await this.db.updateTable('backups').set({ local_status: 'deleted' }).where('id', '=', id).execute();
      await this.backups.storage.remove(backup);
      log(`Retention: removed the local file of ${id}.`);
      removed++;
    }
    // A backup kept nowhere any more is gone: its record would only promise what cannot be restored.
    const orphans = await this.db
      .selectFrom('backups')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('trigger', '=', 'schedule')
      .where('pinned', '=', false)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'failed'),
          eb.and([
            eb('local_status', '=', 'deleted'),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('backup_copies')
                  .select('id')
                  .whereRef('backup_copies.backup_id', '=', 'backups.id')
                  .where('backup_copies.status', 'in', ['verified', 'pending', 'uploading']),
              ),
            ),
          ]),
        ]),
      )
      .execute();
    for (const backup of orphans) {
      if (backup.status === 'failed' && backup.local_status === 'present') await this.backups.storage.remove(backup);
      await this.backups.removeRecordAndCopies(ctx, backup);
    }
    return { removed };
  }

  /** "Clean up now": a retention job for one instance, or (platform admins) for every scheduled instance. */
  async cleanupNow(ctx: RequestContext, instanceId: string | undefined): Promise<OperationView> {
    let target: { type: string; id: string; label: string } | undefined;
    let organizationId: string | null = null;
    let instanceIds: string[];
    if (instanceId !== undefined) {
      const instance = await this.instances.get(ctx.actor, instanceId);
      await requireAccess(this.db, ctx.actor, instance.organization_id, 'admin', 'Instance');
      target = { type: 'instance', id: instance.id, label: instance.name };
      organizationId = instance.organization_id;
      instanceIds = [instance.id];
    } else {
      requirePlatformAdmin(ctx.actor);
      instanceIds = (await this.db.selectFrom('schedules').select('instance_id').execute()).map((r) => r.instance_id);
    }
    const op = await this.operations.insert(this.db, ctx.actor, {
      kind: 'backup.retention',
      organizationId,
      hostId: null,
      target,
      steps: ['retention'],
      input: { instanceIds },
    });
    await this.audit.record(ctx, {
      action: 'retention.run',
      organizationId,
      target: target ?? { type: 'platform', id: op.id, label: 'all instances' },
      details: { instances: instanceIds.length, job: op.id },
    });
    await this.runner.enqueue(op);
    return operationView(op);
  }

  /** The scheduler's timer. Ticks never overlap; an error is logged and the next tick tries again. */
  start(intervalMs: number): void {
    this.stop();
    const run = () => {
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch((error: unknown) => this.logger.error({ err: error }, 'the backup scheduler failed a tick'))
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

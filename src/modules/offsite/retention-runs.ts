import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Backup } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import { type InstanceTarget, instanceTarget } from '../../platform/audit/targets.js';
import type { RequestContext } from '../../platform/context.js';
import { systemContext } from '../../platform/context.js';
import { planJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { invalid, isUuid } from '../../platform/validation.js';
import { retentionJob } from '../backups/jobs/specs.js';
import type { BackupService } from '../backups/service.js';
import type { BackupView } from '../backups/views.js';
import type { InstanceService } from '../instances/service.js';
import type { CopyService } from './copies.js';
import type { DestinationService } from './destinations.js';
import { planRetention, type RetentionBackup, type RetentionPlan, type RetentionPolicy } from './retention.js';
import { completePolicy, type RetentionScope, type RetentionSettings } from './schedule-settings.js';
import type { ScheduleService } from './schedules.js';
import type { RetentionPreview } from './schemas.js';

export interface RetentionServiceDeps {
  db: Db;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  instances: InstanceService;
  backups: BackupService;
  destinations: DestinationService;
  copies: CopyService;
  /** Each instance's retention is part of its schedule. */
  schedules: ScheduleService;
}

/**
 * Retention of scheduled backups: what a policy keeps and deletes (a preview), applying it locally
 * and at each destination, and the "clean up now" job.
 */
export class RetentionService {
  constructor(private readonly deps: RetentionServiceDeps) {}

  /** What retention may consider: this instance's scheduled backups, at the scope. */
  async candidates(instanceId: string, scope: RetentionScope): Promise<Backup[]> {
    let q = this.deps.db
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
  async preview(ctx: RequestContext, raw: unknown): Promise<Static<typeof RetentionPreview>> {
    if (typeof raw !== 'object' || raw === null) throw invalid('body', 'The body is an object.');
    const input = raw as Record<string, unknown>;
    if (typeof input.instanceId !== 'string') throw invalid('instanceId', 'instanceId is required.');
    const instance = await this.deps.instances.get(ctx.actor, input.instanceId);
    const policy = completePolicy(input.policy);
    const destinationId = input.destinationId ?? null;
    if (destinationId !== null && (typeof destinationId !== 'string' || !isUuid(destinationId)))
      throw invalid('destinationId', 'destinationId is a destination id, or null for the local copies.');
    const schedule = await this.deps.schedules.row(instance.id);
    const timeZone =
      typeof input.timeZone === 'string'
        ? input.timeZone
        : ((schedule?.spec as { timeZone?: string } | undefined)?.timeZone ?? 'UTC');
    const rows = await this.candidates(instance.id, destinationId ? { destinationId } : { local: true });
    const plan = this.plan(rows, policy, timeZone);
    const views = new Map((await this.deps.backups.views(rows)).map((v) => [v.id, v]));
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
    const schedule = await this.deps.schedules.row(instanceId);
    if (!schedule) return { removed: 0 };
    const retention = schedule.retention as unknown as RetentionSettings;
    const timeZone = (schedule.spec as { timeZone?: string }).timeZone ?? 'UTC';
    const ctx = systemContext('retention');
    let removed = 0;
    for (const destinationId of schedule.destination_ids) {
      const destination = await this.deps.destinations.row(destinationId).catch(() => undefined);
      if (!destination) continue;
      const policy = retention.destinations[destinationId] ?? retention.local;
      const rows = await this.candidates(instanceId, { destinationId });
      for (const { id } of this.plan(rows, policy, timeZone).delete) {
        const backup = rows.find((r) => r.id === id) as Backup;
        await this.deps.copies.removeCopy(backup, destination);
        log(`Retention: removed the copy of ${id} at ${destination.name}.`);
        removed++;
      }
    }
    const local = await this.candidates(instanceId, { local: true });
    const copies = await this.deps.copies.copiesOf(local.map((b) => b.id));
    for (const { id } of this.plan(local, retention.local, timeZone).delete) {
      const backup = local.find((r) => r.id === id) as Backup;
      const mine = copies.get(id) ?? [];
      const unsettled = mine.find((c) => c.status === 'pending' || c.status === 'uploading' || c.status === 'failed');
      if (unsettled && backup.status === 'completed') {
        log(`Retention: kept ${id} on disk: its copy to ${unsettled.destinationName} is ${unsettled.status}.`);
        continue;
      }
      await this.deps.backups.writer.markLocal(id, 'deleted');
      await this.deps.backups.storage.remove(backup);
      log(`Retention: removed the local file of ${id}.`);
      removed++;
    }
    // A backup kept nowhere any more is gone: its record would only promise what cannot be restored.
    const orphans = await this.deps.db
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
      if (backup.status === 'failed' && backup.local_status === 'present')
        await this.deps.backups.storage.remove(backup);
      await this.deps.backups.removeRecordAndCopies(ctx, backup);
    }
    return { removed };
  }

  /** "Clean up now": a retention job for one instance, or (platform admins) for every scheduled instance. */
  async cleanupNow(ctx: RequestContext, instanceId: string | undefined): Promise<OperationView> {
    let target: InstanceTarget | undefined;
    let organizationId: string | null = null;
    let instanceIds: string[];
    if (instanceId !== undefined) {
      const instance = await this.deps.instances.get(ctx.actor, instanceId);
      await requirePermissionOn(this.deps.db, ctx.actor, instance, 'backup.manage');
      target = await instanceTarget(this.deps.db, instance);
      organizationId = instance.organization_id;
      instanceIds = [instance.id];
    } else {
      requirePlatformAdmin(ctx.actor);
      instanceIds = (await this.deps.db.selectFrom('schedules').select('instance_id').execute()).map(
        (r) => r.instance_id,
      );
    }
    const op = await this.deps.operations.insert(this.deps.db, ctx.actor, {
      job: planJob(retentionJob, { instanceIds }),
      organizationId,
      hostId: null,
      target,
    });
    const details = { instances: instanceIds.length, job: op.id };
    await this.deps.audit.record(
      ctx,
      target
        ? { action: 'instance.apply_retention', organizationId, target, details }
        : {
            action: 'platform.apply_retention',
            organizationId,
            target: { type: 'platform', id: 'retention', label: 'all instances' },
            details,
          },
    );
    await this.deps.runner.enqueue(op);
    return operationView(op);
  }
}

import type { Db } from '../../db/database.js';
import type { Backup, Host, Instance } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { planJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { SwarmRuntime } from '../../runtime/swarm/runtime.js';
import { placeNewInstance } from '../cluster/place.js';
import type { HostService } from '../hosts/hosts.js';
import type { InstanceService } from '../instances/service.js';
import { restoreJob } from './jobs/specs.js';
import { instanceLabel } from './queries.js';

export interface RecoveryPreview {
  instanceId: string;
  node: { id: string; state: string | null; since: string | null };
  /** Whether the instance can be recovered now, and if not, why. */
  possible: boolean;
  reason: string | null;
  backup: { id: string; takenAt: string; sizeBytes: number | null } | null;
  /** What would be lost: the time from the backup to when the node was lost (or now). */
  dataLossSeconds: number | null;
}

export interface RecoveryServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  instances: InstanceService;
  hosts: HostService;
}

const LOST_STATES = ['down', 'disconnected'];

/**
 * Brings an instance whose cluster node is lost back on another node, from its latest backup: the
 * service pinned to the lost node is removed through a manager first (so the node, if it returns,
 * starts nothing of it: never the same instance twice), then the instance is placed again and
 * filled by the ordinary restore job, as a new instance is.
 */
export class RecoveryService {
  constructor(private readonly deps: RecoveryServiceDeps) {}

  async preview(ctx: RequestContext, instanceId: string): Promise<RecoveryPreview> {
    requirePlatformAdmin(ctx.actor);
    const instance = await this.deps.instances.row(instanceId);
    const host = await this.deps.hosts.row(instance.host_id);
    const backup = await this.latestBackup(instance.id);
    const refusal = this.refusal(host, instance) ?? (backup ? null : 'The instance has no completed backup.');
    const lostAt = host.node_state !== 'ready' && host.node_state_since ? host.node_state_since : this.deps.clock.now();
    return {
      instanceId: instance.id,
      node: { id: host.id, state: host.node_state, since: host.node_state_since?.toISOString() ?? null },
      possible: refusal === null,
      reason: refusal,
      backup: backup
        ? {
            id: backup.id,
            takenAt: backup.created_at.toISOString(),
            sizeBytes: backup.size_bytes === null ? null : Number(backup.size_bytes),
          }
        : null,
      dataLossSeconds: backup ? Math.max(0, Math.round((lostAt.getTime() - backup.created_at.getTime()) / 1000)) : null,
    };
  }

  async recover(
    ctx: RequestContext,
    instanceId: string,
    input: { confirm?: unknown; backupId?: unknown },
  ): Promise<{ job: OperationView; hostId: string }> {
    requirePlatformAdmin(ctx.actor);
    const instance = await this.deps.instances.row(instanceId);
    this.deps.instances.requireConfirmation(instance, input.confirm);
    const lost = await this.deps.hosts.row(instance.host_id);
    const refusal = this.refusal(lost, instance);
    if (refusal) throw new MarinaError('MARINA_E_CONFLICT', refusal);
    if (instance.status !== 'failed') await this.deps.instances.requireIdle(instance);
    const backup = await this.chosenBackup(instance, input.backupId);

    // First, so that the lost node starts nothing of it if it returns (Swarm removes its task then).
    const runtime = await this.deps.hosts.runtime(lost.id);
    if (runtime instanceof SwarmRuntime) await runtime.forget(instance.container_name);

    const label = await instanceLabel(this.deps.db, instance);
    const { op, hostId } = await this.deps.db.transaction().execute(async (trx) => {
      const { hostId } = await placeNewInstance(
        trx,
        {
          organizationId: instance.organization_id,
          stage: instance.stage,
          memoryMb: instance.memory_mb,
          cpus: Number(instance.cpus),
        },
        true,
      );
      const http = await this.deps.instances.freePort(trx, hostId);
      const gevent = instance.gevent_port === null ? null : await this.deps.instances.freePort(trx, hostId, [http]);
      await trx
        .updateTable('instances')
        .set({
          host_id: hostId,
          database_server_id: null,
          http_port: http,
          gevent_port: gevent,
          status: 'provisioning',
          status_detail: `Recovering on node ${hostId} from the backup of ${backup.created_at.toISOString()}.`,
          health: null,
          started_at: null,
        })
        .where('id', '=', instance.id)
        .execute();
      const planned = planJob(restoreJob, { backupId: backup.id, existing: false, copy: false, neutralize: false });
      const op = await this.deps.operations.insert(trx, ctx.actor, {
        job: planned,
        organizationId: instance.organization_id,
        hostId,
        target: { type: 'instance', id: instance.id, label },
      });
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.recover',
          organizationId: instance.organization_id,
          target: { type: 'instance', id: instance.id, label },
          details: { job: op.id, from: lost.id, to: hostId, backup: backup.id },
        },
        trx,
      );
      return { op, hostId };
    });
    await this.deps.runner.enqueue(op);
    this.deps.instances.bus.emit('instance', this.deps.instances.view(await this.deps.instances.row(instance.id)));
    return { job: operationView(op), hostId };
  }

  /** Why the instance cannot be recovered elsewhere, or null. */
  private refusal(host: Host, instance: Instance): string | null {
    if (host.role !== 'manager' && host.role !== 'worker')
      return 'The instance does not run on a cluster node: only an instance of a lost node is recovered elsewhere.';
    // A failed recovery may be tried again, from wherever it was placed.
    if (instance.status === 'failed') return null;
    if (!LOST_STATES.includes(host.node_state ?? ''))
      return `Its node ${host.name} is ${host.node_state ?? 'unknown'}, not lost: nothing to recover.`;
    return null;
  }

  private async chosenBackup(instance: Instance, backupId: unknown): Promise<Backup> {
    if (backupId === undefined) {
      const latest = await this.latestBackup(instance.id);
      if (!latest) throw new MarinaError('MARINA_E_CONFLICT', 'The instance has no completed backup to recover from.');
      return latest;
    }
    if (typeof backupId !== 'string') throw new MarinaError('MARINA_E_VALIDATION', 'backupId must be a backup id.');
    const backup = await this.deps.db
      .selectFrom('backups')
      .selectAll()
      .where('id', '=', backupId)
      .where('instance_id', '=', instance.id)
      .where('status', '=', 'completed')
      .where('kind', '!=', 'filestore')
      .executeTakeFirst();
    if (!backup) throw notFound('Backup');
    return backup;
  }

  /** The newest completed backup with a database in it (the restore checks its file's hash first). */
  private latestBackup(instanceId: string): Promise<Backup | undefined> {
    return this.deps.db
      .selectFrom('backups')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('status', '=', 'completed')
      .where('kind', '!=', 'filestore')
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }
}

import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Instance, InstanceStatus } from '../../db/schema.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { planJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { patterns } from '../../platform/validation.js';
import { weighPlacement } from '../cluster/place.js';
import type { PlacedInstance } from '../cluster/placement.js';
import type { HostService } from '../hosts/hosts.js';
import type { InstanceService } from '../instances/service.js';
import { moveJob } from './jobs/specs.js';
import { instanceLabel } from './queries.js';

export interface MoveServiceDeps {
  db: Db;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  instances: InstanceService;
  hosts: HostService;
}

const NODE_ID = new RegExp(patterns.nodeName);
const MOVABLE: InstanceStatus[] = ['running', 'stopped', 'exited'];
const MB = 1024 * 1024;

/** Moves between cluster nodes (#16): one instance at a time, or every instance of a node being drained. */
export class MoveService {
  constructor(private readonly deps: MoveServiceDeps) {}

  async move(
    ctx: RequestContext,
    instanceId: string,
    input: { to?: unknown; confirm?: unknown },
  ): Promise<{ job: OperationView; hostId: string }> {
    requirePlatformAdmin(ctx.actor);
    if (input.to !== undefined && (typeof input.to !== 'string' || !NODE_ID.test(input.to)))
      throw new MarinaError('MARINA_E_VALIDATION', '"to" must be the id of a cluster node.');
    const instance = await this.deps.instances.row(instanceId);
    this.deps.instances.requireConfirmation(instance, input.confirm);
    return this.queue(ctx, instance, input.to as string | undefined, []);
  }

  /**
   * Queues a move for every instance of a node that is being drained, each to the node placement
   * chooses, counting the moves queued before it (so two do not both take a node's last room).
   */
  async drain(
    ctx: RequestContext,
    hostId: string,
  ): Promise<{
    queued: { instanceId: string; job: OperationView; to: string }[];
    refused: { instanceId: string; label: string; reason: string }[];
  }> {
    requirePlatformAdmin(ctx.actor);
    const instances = await this.deps.db
      .selectFrom('instances')
      .selectAll()
      .where('host_id', '=', hostId)
      .where('status', 'in', MOVABLE)
      .orderBy('created_at')
      .execute();
    const queued: { instanceId: string; job: OperationView; to: string }[] = [];
    const refused: { instanceId: string; label: string; reason: string }[] = [];
    const pending: PlacedInstance[] = [];
    for (const instance of instances) {
      // One that cannot move now (busy, or no node has room) stays, said why; the others still move,
      // and the drain can be asked again for what is left.
      const moved = await this.queue(ctx, instance, undefined, pending).catch(async (error: unknown) => {
        if (!(error instanceof MarinaError)) throw error;
        refused.push({
          instanceId: instance.id,
          label: await instanceLabel(this.deps.db, instance),
          reason: error.message,
        });
        return undefined;
      });
      if (!moved) continue;
      const { job, hostId: to } = moved;
      pending.push({
        hostId: to,
        organizationId: instance.organization_id,
        stage: instance.stage,
        memoryBytes: instance.memory_mb * MB,
        nanoCpus: Math.round(Number(instance.cpus) * 1e9),
      });
      queued.push({ instanceId: instance.id, job, to });
    }
    return { queued, refused };
  }

  /**
   * The moves still going off a node (queued or running), a drain's or one instance's: off it when
   * the job remembered it as its source, or, before the job ran, when its instance is still there.
   */
  async active(ctx: RequestContext, hostId: string): Promise<{ instanceId: string; job: OperationView; to: string }[]> {
    requirePlatformAdmin(ctx.actor);
    const ops = await this.deps.db
      .selectFrom('operations')
      .leftJoin('instances', (join) => join.on(sql`instances.id::text`, '=', sql.ref('operations.target_id')))
      .selectAll('operations')
      .where('operations.kind', '=', moveJob.kind)
      .where('operations.target_type', '=', 'instance')
      .where('operations.status', 'in', ['queued', 'running'])
      .where((eb) =>
        eb.or([
          eb(sql`operations.resources->>'sourceHost'`, '=', hostId),
          eb.and([eb(sql`operations.resources->>'sourceHost'`, 'is', null), eb('instances.host_id', '=', hostId)]),
        ]),
      )
      .orderBy('operations.created_at')
      .execute();
    return ops.map((op) => ({ instanceId: op.target_id ?? '', job: operationView(op), to: String(op.input.to ?? '') }));
  }

  private async queue(
    ctx: RequestContext,
    instance: Instance,
    to: string | undefined,
    pending: PlacedInstance[],
  ): Promise<{ job: OperationView; hostId: string }> {
    if (!MOVABLE.includes(instance.status))
      throw new MarinaError(
        'MARINA_E_INSTANCE_BUSY',
        `The instance is ${instance.status}: only a settled instance moves.`,
      );
    await this.deps.instances.requireIdle(instance);
    if (to === instance.host_id) throw new MarinaError('MARINA_E_CONFLICT', `The instance is on ${to} already.`);
    const placement = await weighPlacement(this.deps.db, {
      organizationId: instance.organization_id,
      stage: instance.stage,
      memoryMb: instance.memory_mb,
      cpus: Number(instance.cpus),
      candidates: (hostId) => (to === undefined ? hostId !== instance.host_id : hostId === to),
      pending,
    });
    if (!placement.ok)
      throw new MarinaError(
        'MARINA_E_NO_PLACEMENT',
        to === undefined ? placement.message : (placement.rejected[0]?.reason ?? `${to} is not a node of the cluster.`),
      );
    const label = await instanceLabel(this.deps.db, instance);
    const op = await this.deps.db.transaction().execute(async (trx) => {
      const op = await this.deps.operations.insert(trx, ctx.actor, {
        job: planJob(moveJob, { to: placement.hostId }),
        organizationId: instance.organization_id,
        hostId: instance.host_id,
        target: { type: 'instance', id: instance.id, label },
      });
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.move',
          organizationId: instance.organization_id,
          target: { type: 'instance', id: instance.id, label },
          details: { job: op.id, from: instance.host_id, to: placement.hostId },
        },
        trx,
      );
      return op;
    });
    await this.deps.runner.enqueue(op);
    return { job: operationView(op), hostId: placement.hostId };
  }
}

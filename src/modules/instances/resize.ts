import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import { sizeLimits, workerSettings } from '../../odoo/sizing.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { responses, Uuid } from '../../platform/http/schemas.js';
import { defineJob, jobSpec, planJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { Job } from '../../platform/jobs/schemas.js';
import { requirePermission } from '../../platform/permissions.js';
import { ensureServer, healthy, type InstanceJobDeps } from './jobs.js';
import { requireSize } from './new-instance.js';
import type { InstanceService } from './service.js';

export const resizeJob = jobSpec({
  kind: 'instance.resize',
  input: Type.Object(
    {
      cpus: Type.Number(),
      memoryMb: Type.Integer(),
      from: Type.Object({ cpus: Type.Number(), memoryMb: Type.Integer() }),
    },
    { additionalProperties: false },
  ),
  plan: () => ['recreate', 'health'],
});

export interface ResizeServiceDeps {
  db: Db;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  instances: InstanceService;
  config: Pick<MarinaConfig, 'edge'>;
  /** Tells the edge the instance's gevent port changed (nothing without the edge). */
  edgeSync?: (reason: string) => void;
}

/**
 * Gives an instance another size (Odoo.sh's "change size"): the new limits are recorded with the
 * plan's quota under the organization's lock, then a job makes the container again with them.
 */
export class ResizeService {
  constructor(private readonly deps: ResizeServiceDeps) {}

  async resize(
    ctx: RequestContext,
    id: string,
    input: { cpus?: unknown; memoryMb?: unknown; confirm?: unknown },
  ): Promise<OperationView> {
    const { instances, db } = this.deps;
    const instance = await instances.get(ctx.actor, id);
    await requirePermission(db, ctx.actor, instance.organization_id, 'instance.resize', instance.stage, 'Instance');
    const size = requireSize(input);
    // Production is resized by name, as it is stopped: it restarts.
    instances.requireConfirmation(instance, input.confirm);
    await instances.requireIdle(instance);
    if (instance.status === 'failed')
      throw new MarinaError(
        'MARINA_E_INSTANCE_FAILED',
        'This instance failed to provision; delete it and create it again.',
      );
    const from = { cpus: Number(instance.cpus), memoryMb: instance.memory_mb };
    const label = await db
      .selectFrom('projects')
      .select('name')
      .where('id', '=', instance.project_id)
      .executeTakeFirstOrThrow()
      .then((p) => `${p.name}/${instance.name}`);
    const { op, geventChanged } = await db.transaction().execute(async (trx) => {
      await instances.quotas.requireOperational(trx, instance.organization_id, 'resize instances');
      await instances.quotas.require(trx, instance.organization_id, {
        kind: 'resize',
        instanceId: instance.id,
        ...size,
      });
      // Odoo's gevent (websocket) port exists only with workers: taken or given back when they cross 0.
      const workers = workerSettings(size).workers;
      let gevent = instance.gevent_port;
      if (this.deps.config.edge && workers > 0 && gevent === null)
        gevent = await instances.freePort(
          trx,
          instance.host_id,
          instance.http_port === null ? [] : [instance.http_port],
        );
      if (workers === 0) gevent = null;
      await trx
        .updateTable('instances')
        .set({ cpus: size.cpus, memory_mb: size.memoryMb, gevent_port: gevent })
        .where('id', '=', instance.id)
        .execute();
      const created = await this.deps.operations.insert(trx, ctx.actor, {
        job: planJob(resizeJob, { ...size, from }),
        organizationId: instance.organization_id,
        hostId: instance.host_id,
        target: { type: 'instance', id: instance.id, label },
      });
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.resize',
          organizationId: instance.organization_id,
          target: { type: 'instance', id: instance.id, label },
          details: { from, to: size, job: created.id },
        },
        trx,
      );
      return { op: created, geventChanged: gevent !== instance.gevent_port };
    });
    await this.deps.runner.enqueue(op);
    if (geventChanged) this.deps.edgeSync?.(`${label} resized`);
    return operationView(op);
  }
}

/** The job: the container made again with the recorded size; started again if it ran. */
export function resizeHandler(deps: InstanceJobDeps) {
  return defineJob({
    ...resizeJob,
    run: async (job) => {
      let instance = await deps.instances.row(job.operation.target_id ?? '');
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      const wasRunning = Boolean((await engine.state(instance.container_name))?.running);
      await job.step('recreate', async () => {
        instance = await ensureServer(deps, engine, instance);
        await job.log(
          `Size: ${job.input.from.cpus} → ${job.input.cpus} CPUs, ${job.input.from.memoryMb} → ${job.input.memoryMb} MB.`,
        );
        if (wasRunning) {
          instance = await deps.instances.setStatus(instance.id, 'restarting', null);
          await engine.restart(instance.container_name);
        }
      });
      if (wasRunning) await job.step('health', () => healthy(deps, engine, instance));
      else await job.skip('health', 'the instance was stopped: it starts with the new size');
      return undefined;
    },
    recover: async ({ operation }, error) => {
      await deps.instances
        .setStatus(operation.target_id ?? '', 'exited', `Resize failed: ${error.message}`.slice(0, 2000))
        .catch(() => undefined);
    },
  });
}

export const resizeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.patch(
    '/instances/:id/size',
    {
      schema: {
        tags: ['instances'],
        summary:
          'Resize an instance (CPUs, memory): within the plan\'s limits; the container is made again and restarted if it ran. Production needs "confirm": its name',
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          {
            cpus: Type.Number({ minimum: sizeLimits.cpus.min, maximum: sizeLimits.cpus.max }),
            memoryMb: Type.Integer({ minimum: sizeLimits.memoryMb.min, maximum: sizeLimits.memoryMb.max }),
            confirm: Type.Optional(Type.String({ maxLength: 60 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 202: Type.Object({ job: Job }) }),
      },
    },
    async (request, reply) =>
      reply
        .status(202)
        .send({ job: await services.instanceResize.resize(contextOf(request), request.params.id, request.body) }),
  );
};

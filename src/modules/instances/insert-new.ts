import { createServer } from 'node:net';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { Instance } from '../../db/schema.js';
import { workerSettings } from '../../odoo/sizing.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import type { PlannedJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { type QuotaGate, requireNewInstance } from '../../platform/quota.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { randomSecret } from '../../platform/secrets/secrets.js';
import { placeNewInstance } from '../cluster/place.js';
import { allocateEdgeIdentity } from '../edge/allocation.js';
import { LOCAL_HOST_ID } from '../hosts/hosts.js';
import type { NewInstanceFields } from './new-instance.js';
import { runtimeNames } from './odoo-container.js';
import type { Credentials, InstanceBus, InstanceView } from './service.js';

export interface NewInstanceJob {
  planned: PlannedJob;
  /** The caller finishes what the job needs first, then enqueues it. */
  defer?: boolean;
  action?: 'instance.clone' | 'instance.restore' | 'instance.import';
}

export interface InsertNewDeps {
  db: Db;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  box: SecretBox;
  config: Pick<MarinaConfig, 'instances' | 'namespace' | 'edge' | 'publicUrl'>;
  bus: InstanceBus;
  quotas: QuotaGate;
  view(instance: Instance): InstanceView;
  url(instance: Instance): string | null;
}

function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
/**
 * Records a new instance and queues the job that makes it: provisioning, or a restore or clone
 * that fills it from a copy (`clonedFrom` remembers the source). The audit trail records how it
 * was made: `instance.create` when empty, else `instance.clone`, `instance.restore` or `instance.import`.
 */
export async function insertNewInstance(
  deps: InsertNewDeps,
  ctx: RequestContext,
  fields: NewInstanceFields,
  job: NewInstanceJob,
  clonedFrom: string | null = null,
): Promise<{ instance: InstanceView; job: OperationView; credentials: Credentials }> {
  const { project, name, stage, cpus, memoryMb, adminLogin, language, country } = fields;
  const adminPassword = randomSecret(18);
  const id = crypto.randomUUID();
  const names = runtimeNames(deps.config.namespace, id);
  const result = await deps.db.transaction().execute(async (trx) => {
    // Every new instance passes here: its plan is asked under the organization's lock (one wins the last slot).
    await requireNewInstance(deps.quotas, trx, project.organization_id, { stage, cpus, memoryMb });
    const hostId = await hostFor(trx, ctx, fields, job, clonedFrom);
    const port = await freeInstancePort(deps.config, trx, hostId);
    const edge = await edgeFields(deps, trx, fields, hostId, port);
    const instance = await trx
      .insertInto('instances')
      .values({
        id,
        organization_id: project.organization_id,
        project_id: project.id,
        name,
        stage,
        odoo_version: project.odoo_version,
        host_id: hostId,
        db_name: names.dbName,
        db_password: deps.box.seal(randomSecret(24), sealedAt('instances', 'db_password', id)),
        master_password: deps.box.seal(randomSecret(24), sealedAt('instances', 'master_password', id)),
        admin_login: adminLogin,
        admin_password: deps.box.seal(adminPassword, sealedAt('instances', 'admin_password', id)),
        language,
        country,
        cpus,
        memory_mb: memoryMb,
        container_name: names.containerName,
        volume_name: names.volumeName,
        http_port: port,
        status: 'provisioning',
        cloned_from_id: clonedFrom,
        template_id: fields.templateId ?? null,
        ...edge,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const op = await deps.operations.insert(trx, ctx.actor, {
      job: job.planned,
      organizationId: instance.organization_id,
      hostId,
      target: { type: 'instance', id: instance.id, label: `${project.name}/${name}` },
    });
    await deps.audit.record(
      ctx,
      {
        action: job.action ?? 'instance.create',
        organizationId: instance.organization_id,
        target: { type: 'instance', id: instance.id, label: `${project.name}/${name}` },
        details: {
          stage,
          odooVersion: project.odoo_version,
          cpus,
          memoryMb,
          adminLogin,
          job: op.id,
          ...(clonedFrom ? { from: clonedFrom, how: job.planned.kind } : {}),
        },
      },
      trx,
    );
    return { instance, op };
  });
  // Deferred: the caller finishes what the job needs first, then enqueues it.
  if (!job.defer) await deps.runner.enqueue(result.op);
  deps.bus.emit('instance', deps.view(result.instance));
  return {
    instance: deps.view(result.instance),
    job: operationView(result.op),
    credentials: { url: deps.url(result.instance), login: adminLogin, password: adminPassword },
  };
}

/**
 * Where the new instance runs. A clone reads its source's volume in place, so it stays on the
 * source's host; anything else goes where placement says (this machine while there is no cluster).
 */
async function hostFor(
  trx: Db,
  ctx: RequestContext,
  fields: NewInstanceFields,
  job: NewInstanceJob,
  clonedFrom: string | null,
): Promise<string> {
  if (clonedFrom && job.planned.kind === 'instance.clone') {
    const source = await trx
      .selectFrom('instances')
      .select('host_id')
      .where('id', '=', clonedFrom)
      .executeTakeFirstOrThrow();
    return source.host_id;
  }
  const { hostId } = await placeNewInstance(
    trx,
    {
      organizationId: fields.project.organization_id,
      stage: fields.stage,
      memoryMb: fields.memoryMb,
      cpus: fields.cpus,
    },
    ctx.actor.kind === 'system' || ctx.actor.isPlatformAdmin,
  );
  return hostId;
}

/**
 * With the edge on: the instance's platform name and edge address, and a loopback port for Odoo's
 * gevent server (websocket) when it will run workers. Nothing when the edge is off.
 */
async function edgeFields(
  deps: InsertNewDeps,
  trx: Db,
  fields: NewInstanceFields,
  hostId: string,
  httpPort: number,
): Promise<Partial<Pick<Instance, 'hostname' | 'edge_ip' | 'gevent_port'>>> {
  const edge = deps.config.edge;
  if (!edge) return {};
  // With the public URL, the console's own label (when under the base domain) is never an instance's.
  const names = { ...edge, publicUrl: deps.config.publicUrl };
  const identity = await allocateEdgeIdentity(trx, names, {
    instance: fields.name,
    projectId: fields.project.id,
    organizationId: fields.project.organization_id,
    exactLabel: fields.hostnameLabel,
  });
  const { workers } = workerSettings({ cpus: fields.cpus, memoryMb: fields.memoryMb });
  const gevent = workers > 0 ? await freeInstancePort(deps.config, trx, hostId, [httpPort]) : null;
  return { ...identity, gevent_port: gevent };
}

/**
 * The lowest free port of the range on the host (Odoo's HTTP or gevent port); a unique index
 * settles races between creations. `taken`: ports chosen in this transaction already.
 */
export async function freeInstancePort(
  config: Pick<MarinaConfig, 'instances'>,
  trx: Db,
  hostId: string,
  taken: number[] = [],
): Promise<number> {
  const { from, to } = config.instances.portRange;
  const rows = await trx
    .selectFrom('instances')
    .select(['http_port', 'gevent_port'])
    .where('host_id', '=', hostId)
    .execute();
  const used = new Set<number | null>([...taken, ...rows.flatMap((r) => [r.http_port, r.gevent_port])]);
  for (let port = from; port <= to; port++) {
    // Another program (or another Marina) may hold a port of the range on the local host.
    if (!used.has(port) && (hostId !== LOCAL_HOST_ID || (await portIsFree(config.instances.bindAddress, port))))
      return port;
  }
  throw new MarinaError('MARINA_E_NO_FREE_PORT');
}

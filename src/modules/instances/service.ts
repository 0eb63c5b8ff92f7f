import { EventEmitter } from 'node:events';
import type { Static } from 'typebox';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { Instance, InstanceStatus } from '../../db/schema.js';
import { requireAccess, requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { ActionOn } from '../../platform/audit/vocabulary.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { type PlannedJob, planJob } from '../../platform/jobs/define.js';
import { type OperationService, type OperationView, operationView } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import { type QuotaGate, unlimitedGate } from '../../platform/quota.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { isUuid } from '../../platform/validation.js';
import { organizationNetworkName } from '../hosts/database-servers.js';
import { type HostService, LOCAL_HOST_ID } from '../hosts/hosts.js';
import type { ProjectService } from '../projects/service.js';
import { type AdminPasswordRecord, credentialsOrigin } from './admin-password.js';
import { freeInstancePort, type InsertNewDeps, insertNewInstance, type NewInstanceJob } from './insert-new.js';
import { deleteJob, lifecycleJobs, provisionJob, restartJob } from './job-specs.js';
import { type InstanceListQuery, type ListedInstance, listInstances, visibleInstanceIds } from './list.js';
import { type NewInstanceFields, type NewInstanceInput, validateNewInstance } from './new-instance.js';
import { ODOO_HTTP_PORT } from './odoo-container.js';
import { type RestartAllTarget, restartAllSelection } from './restart-all.js';
import type { Credentials as CredentialsSchema, Instance as InstanceSchema } from './schemas.js';

export type { NewInstanceFields, NewInstanceInput };

/** An instance as the API answers it (the `Instance` schema). */
export type InstanceView = Static<typeof InstanceSchema>;

/** How to sign in to a new instance, shown once (the `Credentials` schema). */
export type Credentials = Static<typeof CredentialsSchema>;

/** Whether nothing listens on the port yet: the one sure way to know is to try. */
/** Instance changes for live lists (SSE), fed by jobs and by the Docker event stream. */
export class InstanceBus extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(0);
  }
}

export type LifecycleAction = 'start' | 'stop' | 'restart';

/** States in which a job owns the instance and nothing else may start. */
const busy: InstanceStatus[] = ['provisioning', 'deleting', 'restoring'];

export interface InstanceServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  projects: ProjectService;
  box: SecretBox;
  config: Pick<MarinaConfig, 'publicUrl' | 'instances' | 'namespace' | 'edge'>;
  bus: InstanceBus;
  /** Where an unpublished instance's container is found (its address on its network). */
  hosts: Pick<HostService, 'reachableRuntime' | 'row'>;
  quotas?: QuotaGate; // the organization's plan (src/modules/plans); none: everything fits
}

/** What says where an instance's Odoo answers. */
type Reachable = Pick<Instance, 'http_port' | 'host_id' | 'container_name' | 'organization_id'>;

export class InstanceService {
  readonly bus: InstanceBus;
  /** The plan's quotas, also asked by the services that fill or create instances. */
  readonly quotas: QuotaGate;

  constructor(private readonly deps: InstanceServiceDeps) {
    this.bus = deps.bus;
    this.quotas = deps.quotas ?? unlimitedGate;
  }

  /**
   * Whether the instance's Odoo ports are published on its host: on this machine's engine only when
   * MARINA_INSTANCE_PUBLISH says so (else the edge reaches the container on its network); on any
   * other host always, as before — the proxy here cannot reach another host's bridge networks (the
   * cluster issue, #16, takes that up).
   */
  publishes(instance: Pick<Instance, 'host_id'>): boolean {
    return this.deps.config.instances.publishPorts || instance.host_id !== LOCAL_HOST_ID;
  }

  url(
    instance: Pick<Instance, 'http_port' | 'host_id'> & Partial<Pick<Instance, 'hostname' | 'primary_hostname'>>,
  ): string | null {
    const edge = this.deps.config.edge;
    const name = instance.primary_hostname ?? instance.hostname;
    // With the edge on, an instance is reached by its name through the proxy, over HTTPS (a cluster
    // node's too: the proxy dials its published port).
    if (edge && name) return `https://${name}${edge.httpsPort === 443 ? '' : `:${edge.httpsPort}`}`;
    if (instance.http_port === null || !this.publishes(instance)) return null;
    // Without the edge, a node's port is for Marina and its proxy, not an address to hand out.
    if (instance.host_id !== LOCAL_HOST_ID) return null;
    return `${this.localOrigin()}:${instance.http_port}`;
  }

  /** `http://host` of a local published port, worked out once: a list page asks for it per row. */
  private localOrigin = (): string => {
    const bind = this.deps.config.instances.bindAddress;
    const host = bind === '0.0.0.0' || bind === '::' ? new URL(this.deps.config.publicUrl).hostname : bind;
    const origin = `http://${host.includes(':') ? `[${host}]` : host}`;
    this.localOrigin = () => origin;
    return origin;
  };

  /**
   * Where Marina itself reaches an instance's Odoo: its published HTTP port (on a cluster node, at
   * the node's address), or its container's current address on the organization's network (null
   * while it does not run there).
   */
  async internalUrl(instance: Reachable): Promise<string | null> {
    if (!this.publishes(instance)) {
      const address = await this.odooAddress(instance);
      return address ? `http://${address}:${ODOO_HTTP_PORT}` : null;
    }
    if (instance.host_id !== LOCAL_HOST_ID) {
      const { address } = await this.deps.hosts.row(instance.host_id);
      return address ? `http://${address.includes(':') ? `[${address}]` : address}:${instance.http_port}` : null;
    }
    const bind = this.deps.config.instances.bindAddress;
    const host = bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '[::1]' : bind;
    return `http://${host}:${instance.http_port}`;
  }

  /**
   * The address of the instance's Odoo container on its organization's network while it runs. It
   * changes when the container is made again; a stale one can only belong to a container of the
   * same organization (each organization's network has its own address range).
   */
  async odooAddress(instance: Omit<Reachable, 'http_port'>): Promise<string | undefined> {
    const runtime = await this.deps.hosts.reachableRuntime(instance.host_id);
    const network = organizationNetworkName(this.deps.config.namespace, instance.organization_id);
    return runtime.address(instance.container_name, network);
  }

  view(i: ListedInstance): InstanceView {
    return {
      id: i.id,
      organizationId: i.organization_id,
      projectId: i.project_id,
      name: i.name,
      stage: i.stage,
      odooVersion: i.odoo_version,
      hostId: i.host_id,
      status: i.status,
      statusDetail: i.status_detail,
      health: i.health,
      url: this.url(i),
      hostname: i.hostname,
      // Recorded either way (MARINA_INSTANCE_PUBLISH may change), shown only when Odoo listens there.
      httpPort: this.publishes(i) ? i.http_port : null,
      cpus: i.cpus,
      memoryMb: i.memory_mb,
      adminLogin: i.admin_login,
      language: i.language,
      country: i.country,
      dbName: i.db_name,
      clonedFromId: i.cloned_from_id,
      undo:
        i.undo_until && i.undo_operation_id
          ? { until: i.undo_until.toISOString(), operationId: i.undo_operation_id }
          : null,
      credentialsOrigin: credentialsOrigin(i),
      startedAt: i.started_at?.toISOString() ?? null,
      createdAt: i.created_at.toISOString(),
    };
  }

  async row(id: string): Promise<Instance> {
    const instance = await this.deps.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
    if (!instance) throw notFound('Instance');
    return instance;
  }

  /** Anyone in the organization sees its instances; outsiders get "not found". */
  async get(actor: Actor, id: string): Promise<Instance> {
    if (!isUuid(id)) throw notFound('Instance');
    const instance = await this.deps.db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
    if (!instance) throw notFound('Instance');
    await requireAccess(this.deps.db, actor, instance.organization_id, 'viewer', 'Instance');
    return instance;
  }

  async list(actor: Actor, filter: { projectId?: string } = {}): Promise<InstanceView[]> {
    return (await this.page(actor, filter)).instances;
  }

  /**
   * Instances the actor can see, newest first; a page of them with a limit (and the next page's
   * cursor). The first page also counts them all, and how many run.
   */
  async page(
    actor: Actor,
    query: InstanceListQuery,
  ): Promise<{ instances: InstanceView[]; nextCursor: string | null; total: number | null; running: number | null }> {
    if (query.projectId) query = { ...query, projectId: (await this.deps.projects.get(actor, query.projectId)).id };
    if (query.organizationId) await requireAccess(this.deps.db, actor, query.organizationId, 'viewer', 'Organization');
    const { rows, nextCursor, counts } = await listInstances(this.deps.db, actor, query);
    return {
      instances: rows.map((i) => this.view(i)),
      nextCursor,
      total: counts?.total ?? null,
      running: counts?.running ?? null,
    };
  }

  visibleIds(actor: Actor): Promise<Set<string>> {
    return visibleInstanceIds(this.deps.db, actor);
  }

  async setStatus(
    id: string,
    status: InstanceStatus,
    detail: string | null = null,
    extra: Partial<Pick<Instance, 'started_at' | 'health' | 'container_id'>> = {},
  ): Promise<Instance> {
    const updated = await this.deps.db
      .updateTable('instances')
      .set({ status, status_detail: detail, status_changed_at: this.deps.clock.now(), ...extra })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    this.bus.emit('instance', this.view(updated));
    return updated;
  }

  /** Records what a restore over the instance replaced and keeps as its undo until `until` (null: nothing kept). */
  async setUndo(id: string, undo: { until: Date; operationId: string } | null): Promise<Instance> {
    const updated = await this.deps.db
      .updateTable('instances')
      .set({ undo_until: undo?.until ?? null, undo_operation_id: undo?.operationId ?? null })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    this.bus.emit('instance', this.view(updated));
    return updated;
  }

  /**
   * Records who signs in as the administrator and where that comes from (a copy's users, a reset):
   * an unknown password is recorded empty and revealed as unknown (admin-password.ts).
   */
  async recordAdminPassword(id: string, record: AdminPasswordRecord): Promise<Instance> {
    const updated = await this.deps.db
      .updateTable('instances')
      .set({
        admin_login: record.login,
        admin_password: this.deps.box.seal(record.password ?? '', sealedAt('instances', 'admin_password', id)),
        admin_password_source: record.source,
        admin_password_from: record.from,
        admin_password_at: record.at,
        admin_password_known: record.password !== null,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    this.bus.emit('instance', this.view(updated));
    return updated;
  }

  async attachDatabaseServer(id: string, serverId: string): Promise<void> {
    await this.deps.db.updateTable('instances').set({ database_server_id: serverId }).where('id', '=', id).execute();
  }

  /**
   * The last step of a delete: the record goes; jobs and the audit trail keep its name. Its platform
   * hostname is remembered in the same transaction and never given again (allocation.ts).
   */
  async forget(id: string): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const gone = await trx.deleteFrom('instances').where('id', '=', id).returning('hostname').executeTakeFirst();
      if (gone?.hostname)
        await trx
          .insertInto('released_hostnames')
          .values({ hostname: gone.hostname })
          .onConflict((oc) => oc.column('hostname').doNothing())
          .execute();
    });
    this.bus.emit('instance-removed', { id });
  }

  /**
   * Validates everything before anything is created, then records the instance and queues its
   * provisioning. The customer's admin password is generated here and returned once.
   */
  async create(
    ctx: RequestContext,
    input: NewInstanceInput,
  ): Promise<{ instance: InstanceView; job: OperationView; credentials: Credentials }> {
    const fields = await this.validateNew(ctx, input);
    return this.insertNew(ctx, fields, { planned: planJob(provisionJob, {}) });
  }

  /** Checks everything a new instance needs; nothing is written. */
  validateNew(ctx: RequestContext, input: NewInstanceInput): Promise<NewInstanceFields> {
    return validateNewInstance({ db: this.deps.db, projects: this.deps.projects }, ctx, input);
  }

  /**
   * Records a new instance and queues the job that makes it (insert-new.ts): provisioning, or a
   * restore or clone that fills it from a copy (`clonedFrom` remembers the source).
   */
  insertNew(
    ctx: RequestContext,
    fields: NewInstanceFields,
    job: NewInstanceJob,
    clonedFrom: string | null = null,
  ): Promise<{ instance: InstanceView; job: OperationView; credentials: Credentials }> {
    return insertNewInstance(this.insertDeps(), ctx, fields, job, clonedFrom);
  }

  /** The lowest free Odoo port of the range on the host (insert-new.ts). */
  freePort(trx: Db, hostId: string, taken: number[] = []): Promise<number> {
    return freeInstancePort(this.deps.config, trx, hostId, taken);
  }

  /**
   * The instance's record names another host and database server (a move's switch): its ports are
   * chosen again there, in one transaction, as a new instance's are.
   */
  async moveTo(id: string, hostId: string, databaseServerId: string): Promise<Instance> {
    await this.deps.db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('instances')
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const http = await this.freePort(trx, hostId);
      const gevent = current.gevent_port === null ? null : await this.freePort(trx, hostId, [http]);
      await trx
        .updateTable('instances')
        .set({ host_id: hostId, database_server_id: databaseServerId, http_port: http, gevent_port: gevent })
        .where('id', '=', id)
        .execute();
    });
    return this.row(id);
  }

  private insertDeps(): InsertNewDeps {
    return {
      ...this.deps,
      quotas: this.quotas,
      view: (i) => this.view(i),
      url: (i) => this.url(i),
    };
  }

  async requireIdle(instance: Instance): Promise<void> {
    if (busy.includes(instance.status)) {
      throw new MarinaError(
        'MARINA_E_INSTANCE_BUSY',
        `The instance is ${instance.status}; wait for that job to finish.`,
      );
    }
    // Only a job that holds the instance now: a backup uploading its finished file does not.
    const [active] = await this.deps.operations.holding(instance.id);
    if (active)
      throw new MarinaError(
        'MARINA_E_INSTANCE_BUSY',
        `Another job is already running for this instance: ${active.kind} (job ${active.id}, ${active.status}${active.step ? `, step "${active.step}"` : ''}).`,
        { job: active.id, kind: active.kind },
      );
  }

  requireConfirmation(instance: Instance, confirm: unknown): void {
    if (instance.stage === 'production' && confirm !== instance.name) {
      throw new MarinaError(
        'MARINA_E_CONFIRMATION_REQUIRED',
        `This is a production instance: send "confirm": "${instance.name}" to go ahead.`,
        {
          field: 'confirm',
        },
      );
    }
  }

  async lifecycle(ctx: RequestContext, id: string, action: LifecycleAction, confirm?: unknown): Promise<OperationView> {
    const instance = await this.get(ctx.actor, id);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.operate');
    if (action === 'stop') this.requireConfirmation(instance, confirm);
    if (action !== 'stop') await this.quotas.requireOperational(this.deps.db, instance.organization_id, action);
    await this.requireIdle(instance);
    if (instance.status === 'failed')
      throw new MarinaError(
        'MARINA_E_INSTANCE_FAILED',
        'This instance failed to provision; delete it and create it again.',
      );
    return this.submit(ctx, instance, planJob(lifecycleJobs[action], {}), `instance.${action}`);
  }

  async remove(ctx: RequestContext, id: string, confirm?: unknown): Promise<OperationView> {
    const instance = await this.get(ctx.actor, id);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.operate');
    this.requireConfirmation(instance, confirm);
    await this.requireIdle(instance);
    const op = await this.submit(ctx, instance, planJob(deleteJob, {}), 'instance.delete');
    await this.setStatus(instance.id, 'deleting');
    return op;
  }

  /** Platform admins restart every running instance, one job each (the per-host limit paces them). */
  async restartAll(ctx: RequestContext): Promise<OperationView[]> {
    requirePlatformAdmin(ctx.actor);
    const jobs: OperationView[] = [];
    for (const { project_name: _, ...instance } of await restartAllSelection(this.deps.db)) {
      jobs.push(await this.submit(ctx, instance, planJob(restartJob, {}), 'instance.restart'));
    }
    return jobs;
  }

  /** What "Restart all" would restart now (platform admins): its confirmation lists these. */
  async restartAllPreview(ctx: RequestContext): Promise<Static<typeof RestartAllTarget>[]> {
    requirePlatformAdmin(ctx.actor);
    return (await restartAllSelection(this.deps.db)).map((i) => ({
      id: i.id,
      name: i.name,
      project: i.project_name,
      stage: i.stage,
    }));
  }

  /** Queues a job on an instance, audited in the same transaction. */
  async submit(
    ctx: RequestContext,
    instance: Instance,
    job: PlannedJob,
    action: ActionOn<'instance'>,
    extra: { details?: Record<string, unknown>; defer?: boolean } = {},
  ): Promise<OperationView> {
    const project = await this.deps.db
      .selectFrom('projects')
      .select('name')
      .where('id', '=', instance.project_id)
      .executeTakeFirstOrThrow();
    const label = `${project.name}/${instance.name}`;
    const op = await this.deps.db.transaction().execute(async (trx) => {
      const created = await this.deps.operations.insert(trx, ctx.actor, {
        job,
        organizationId: instance.organization_id,
        hostId: instance.host_id,
        target: { type: 'instance', id: instance.id, label },
      });
      await this.deps.audit.record(
        ctx,
        {
          action,
          organizationId: instance.organization_id,
          target: { type: 'instance', id: instance.id, label },
          details: { job: created.id, ...extra.details },
        },
        trx,
      );
      return created;
    });
    if (!extra.defer) await this.deps.runner.enqueue(op);
    return operationView(op);
  }
}

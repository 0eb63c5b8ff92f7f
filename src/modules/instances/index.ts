import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import { buildCatalog } from '../../odoo/versions.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Hooks } from '../../platform/hooks.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import type { OperationService } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import type { QuotaGate } from '../../platform/quota.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import type { ProjectService } from '../projects/service.js';
import { instanceTemplate } from '../templates/apply.js';
import { AdminPasswordService } from './admin-password.js';
import { BytecodeCaches } from './bytecode.js';
import { databaseTemplateRoutes } from './db-templates/routes.js';
import { DatabaseTemplates } from './db-templates/service.js';
import { WarmTemplates } from './db-templates/warm.js';
import type { InstanceHooks } from './hooks.js';
import { HEALTH_TIMEOUT_MS, type InstanceJobDeps, registerInstanceJobs } from './jobs.js';
import { logRoutes } from './log-routes.js';
import { LogService } from './logs.js';
import { ReconcileService } from './reconcile.js';
import { instanceRoutes, reconcileRoutes } from './routes.js';
import { InstanceBus, InstanceService } from './service.js';
import { InstanceStatsService } from './stats.js';
import { StatusTracker } from './status.js';

export interface InstancesModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  box: SecretBox;
  logger: Logger;
  config: Pick<MarinaConfig, 'publicUrl' | 'instances' | 'namespace' | 'odoo' | 'edge' | 'databaseTemplates'>;
  projects: ProjectService;
  hosts: HostService;
  databaseServers: DatabaseServerService;
  /** What modules wired later do about an instance (backups, repository checkouts). */
  hooks: Hooks<InstanceHooks>;
  /** The organization's plan (src/modules/plans); without it everything fits. */
  quotas?: QuotaGate;
}

export interface InstancesModule {
  instances: InstanceService;
  adminPasswords: AdminPasswordService;
  status: StatusTracker;
  reconcile: ReconcileService;
  logs: LogService;
  instanceStats: InstanceStatsService;
  databaseTemplates: DatabaseTemplates;
  warmTemplates: WarmTemplates;
  bytecode: BytecodeCaches;
  /** What the instance jobs need; the backup and repository jobs build on it. */
  jobDeps: InstanceJobDeps;
  registerJobs(runner: JobRunner): void;
}

/** Odoo instances: records, lifecycle jobs, status from the engine's events, stats, logs, reconciliation. */
export function createInstancesModule(deps: InstancesModuleDeps): InstancesModule {
  const { db, clock, audit, operations, runner, box, logger, config, projects, hosts, databaseServers, hooks, quotas } =
    deps;
  const instances = new InstanceService({
    db,
    clock,
    audit,
    operations,
    runner,
    projects,
    box,
    config,
    bus: new InstanceBus(),
    hosts,
    quotas,
  });
  const catalog = buildCatalog(config.odoo);
  const databaseTemplates = new DatabaseTemplates({
    catalog,
    db,
    clock,
    logger,
    hosts,
    databaseServers,
    namespace: config.namespace,
    config: config.databaseTemplates,
  });
  const bytecode = new BytecodeCaches({ db, clock, logger, hosts, namespace: config.namespace });
  const jobDeps: InstanceJobDeps = {
    instances,
    hosts,
    databaseServers,
    box,
    catalog,
    bindAddress: config.instances.bindAddress,
    healthTimeoutMs: HEALTH_TIMEOUT_MS,
    namespace: config.namespace,
    bytecodeOf: (instance, entry) => bytecode.volumeFor(instance.host_id, entry),
    addonsOf: async (instance) => (await hooks.run('instanceMounts', instance)).flat(),
    prepareAddons: async (job, instance) => {
      await hooks.run('prepareAddons', job, instance);
    },
    removeAddons: async (instance) => {
      await hooks.run('removeAddons', instance);
    },
    databaseReady: async (job, instance) => {
      await hooks.run('databaseReady', job, instance);
    },
    templateOf: (instance) => instanceTemplate(db, instance),
    databaseTemplates,
    beforeDelete: async (job, instance) => {
      await hooks.run('beforeInstanceDelete', job, instance);
    },
  };
  return {
    instances,
    adminPasswords: new AdminPasswordService({ db, clock, audit, box, instances, databaseServers }),
    status: new StatusTracker({ db, hosts, instances, namespace: config.namespace, logger }),
    reconcile: new ReconcileService({
      db,
      hosts,
      databaseServers,
      audit,
      box,
      namespace: config.namespace,
      logger,
    }),
    logs: new LogService({ db, instances, hosts }),
    instanceStats: new InstanceStatsService({ instances, hosts, databaseServers }),
    databaseTemplates,
    bytecode,
    warmTemplates: new WarmTemplates({ db, clock, audit, logger, templates: databaseTemplates }),
    jobDeps,
    registerJobs: (jobRunner) => registerInstanceJobs(jobRunner, jobDeps),
  };
}

export { instanceRoutes };

/**
 * What Marina observes of instances (reconciliation, Odoo's logs). Registered after the backups'
 * routes, where the API document has always listed them.
 */
export const instanceObservationRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  await app.register(reconcileRoutes, options);
  await app.register(databaseTemplateRoutes, options);
  await app.register(logRoutes, options);
};

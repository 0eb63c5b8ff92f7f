import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Git } from '../adapters/git/git.js';
import { probeStore } from '../adapters/storage/index.js';
import type { MarinaConfig } from '../config.js';
import type { Db } from '../db/database.js';
import { ImportLimitsService } from '../modules/backups/import-limits.js';
import { type BackupJobDeps, registerBackupJobs, safetyBackup } from '../modules/backups/jobs.js';
import { BackupService } from '../modules/backups/service.js';
import { BackupStorage } from '../modules/backups/storage.js';
import { GitSettingsService } from '../modules/code/git-settings.js';
import { ModuleService, registerModuleJobs } from '../modules/code/odoo-modules.js';
import { PushHookGuard } from '../modules/code/push-hook-guard.js';
import { RepositoryService, reconfigureSteps, type SubmitUpdate, updateSteps } from '../modules/code/repositories.js';
import { prepareCheckouts, type RepositoryJobDeps, registerRepositoryJobs } from '../modules/code/repository-jobs.js';
import { DatabaseServerService } from '../modules/hosts/database-servers.js';
import { HostService, LOCAL_HOST_ID } from '../modules/hosts/hosts.js';
import { AccountService } from '../modules/identity/accounts.js';
import { AuthService } from '../modules/identity/auth.js';
import { InvitationService } from '../modules/identity/invitations.js';
import { OrganizationService } from '../modules/identity/organizations.js';
import { SetupService } from '../modules/identity/setup.js';
import { TokenService } from '../modules/identity/tokens.js';
import { UserService } from '../modules/identity/users.js';
import { HEALTH_TIMEOUT_MS, type InstanceJobDeps, registerInstanceJobs } from '../modules/instances/jobs.js';
import { LogService } from '../modules/instances/logs.js';
import { ReconcileService } from '../modules/instances/reconcile.js';
import { InstanceBus, InstanceService } from '../modules/instances/service.js';
import { InstanceStatsService } from '../modules/instances/stats.js';
import { StatusTracker } from '../modules/instances/status.js';
import { CopyService } from '../modules/offsite/copies.js';
import { DestinationService } from '../modules/offsite/destinations.js';
import { ScheduleService } from '../modules/offsite/schedules.js';
import { ProjectService } from '../modules/projects/service.js';
import { OutboundSettingsService } from '../modules/settings/outbound-settings.js';
import { SettingsService } from '../modules/settings/service.js';
import { SystemLogService, systemLogFile } from '../modules/settings/system-logs.js';
import { buildCatalog } from '../odoo/versions.js';
import { AuditService } from '../platform/audit/service.js';
import type { Clock } from '../platform/clock.js';
import { OperationBus, OperationService } from '../platform/jobs/operations.js';
import { JobRunner } from '../platform/jobs/runner.js';
import { NotificationService } from '../platform/notifications.js';
import type { SecretBox } from '../platform/secrets/secret-box.js';

export interface ServiceDeps {
  db: Db;
  clock: Clock;
  config: MarinaConfig;
  logger: Logger;
  box: SecretBox;
  /** Marina's own database, for the job queue's connections. */
  connectionString: string;
}

export interface Services {
  audit: AuditService;
  auth: AuthService;
  users: UserService;
  tokens: TokenService;
  organizations: OrganizationService;
  invitations: InvitationService;
  accounts: AccountService;
  setup: SetupService;
  operations: OperationService;
  runner: JobRunner;
  hosts: HostService;
  databaseServers: DatabaseServerService;
  projects: ProjectService;
  instances: InstanceService;
  backups: BackupService;
  destinations: DestinationService;
  schedules: ScheduleService;
  instanceStats: InstanceStatsService;
  status: StatusTracker;
  reconcile: ReconcileService;
  logs: LogService;
  systemLogs: SystemLogService;
  settings: SettingsService;
  /** Which internal address ranges S3, SFTP and git may reach (platform admins). */
  outbound: OutboundSettingsService;
  /** Local (file://) repositories: the root folder and which organizations may use them. */
  gitSettings: GitSettingsService;
  notifications: NotificationService;
  repositories: RepositoryService;
  modules: ModuleService;
  /** Queues a repository job on an instance, refused while another job runs there. */
  submitRepositoryJob: SubmitUpdate;
  /** Rate limit and replay memory of push hooks. */
  pushHookGuard: PushHookGuard;
  /** Caps on what an imported archive may hold (a platform setting). */
  importLimits: ImportLimitsService;
  /** Registers the local engine, starts the job workers and follows Docker's events. */
  startBackground(): Promise<void>;
  stopBackground(): Promise<void>;
}

export function createServices({ db, clock, config, logger, box, connectionString }: ServiceDeps): Services {
  const audit = new AuditService(db, clock);
  const settings = new SettingsService(db, clock, audit, box);
  const importLimits = new ImportLimitsService(db, clock, audit);
  const outbound = new OutboundSettingsService(db, clock, audit, {
    port: config.port,
    embeddedPostgresPort: config.embeddedPostgresPort,
    instancePorts: config.instances.portRange,
  });
  const gitSettings = new GitSettingsService(db, clock, audit, [config.dataDir, config.backups.dir]);
  const notifications = new NotificationService(db, settings, logger);
  const users = new UserService(db, clock, audit);
  const organizations = new OrganizationService(db, clock, audit);
  const invitations = new InvitationService(db, clock, audit, organizations, settings, logger, config.publicUrl);
  const operations = new OperationService(db, clock, new OperationBus());
  const runner = new JobRunner({
    db,
    connectionString,
    clock,
    bus: operations.bus,
    logger,
    perHostConcurrency: config.jobs.perHost,
    workers: config.jobs.workers,
  });
  const hosts = new HostService(db, clock, logger);
  const databaseServers = new DatabaseServerService(
    db,
    hosts,
    box,
    config.postgresImage,
    config.namespace,
    logger,
    config.odooDatabaseUrl,
  );
  const projects = new ProjectService(db, audit, organizations);
  const instances = new InstanceService(db, clock, audit, operations, runner, projects, box, config, new InstanceBus());
  const status = new StatusTracker(db, hosts, instances, config.namespace, logger);
  const instanceJobDeps: InstanceJobDeps = {
    instances,
    hosts,
    databaseServers,
    box,
    catalog: buildCatalog(config.odoo),
    bindAddress: config.instances.bindAddress,
    healthTimeoutMs: HEALTH_TIMEOUT_MS,
    namespace: config.namespace,
  };
  const backupStorage = new BackupStorage(config.backups.dir);
  const destinations = new DestinationService(db, clock, audit, box, probeStore, outbound.guard);
  const copies = new CopyService(db, clock, destinations, backupStorage, config.backups.uploadRetryDelaysMs, logger);
  const backups = new BackupService(
    db,
    clock,
    audit,
    operations,
    runner,
    instances,
    databaseServers,
    backupStorage,
    config.backups.uploadLimitBytes,
    copies,
    destinations,
    importLimits,
  );
  const backupJobDeps: BackupJobDeps = {
    ...instanceJobDeps,
    backups,
    clock,
    toolsImage: config.backups.toolsImage ?? config.postgresImage,
    toolsImageSet: config.backups.toolsImage !== undefined,
    backupJobs: config.backups.jobs,
    destinations,
    publicUrl: config.publicUrl,
    notifications,
  };
  const schedules = new ScheduleService(
    db,
    clock,
    audit,
    instances,
    backups,
    destinations,
    operations,
    runner,
    notifications,
    config.publicUrl,
    logger,
  );
  backupJobDeps.schedules = schedules;
  instanceJobDeps.beforeDelete = async (job, instance) => {
    await safetyBackup(backupJobDeps, job, instance, 'pre-delete');
  };
  const repositories = new RepositoryService(
    db,
    clock,
    audit,
    box,
    projects,
    instances,
    gitSettings,
    new Git(),
    join(config.dataDir, 'addons'),
    config.publicUrl,
    outbound.guard,
  );
  const repositoryJobDeps: RepositoryJobDeps = { ...backupJobDeps, repositories };
  instanceJobDeps.addonsOf = (instance) => repositories.mountsOf(instance);
  instanceJobDeps.prepareAddons = (job, instance) => prepareCheckouts(repositoryJobDeps, job, instance);
  instanceJobDeps.removeAddons = (instance) =>
    rm(repositories.instanceFolder(instance.id), { recursive: true, force: true });
  backupJobDeps.addonsOf = instanceJobDeps.addonsOf;
  backupJobDeps.prepareAddons = instanceJobDeps.prepareAddons;
  repositoryJobDeps.addonsOf = instanceJobDeps.addonsOf;
  const submitRepositoryJob: SubmitUpdate = async (ctx, instance, kind, input) => {
    await instances.requireIdle(instance);
    const steps = kind === 'repository.update' ? updateSteps : reconfigureSteps;
    return instances.submit(ctx, instance, kind, steps, kind, { input });
  };
  const modules = new ModuleService(db, instances, repositories, repositoryJobDeps);
  registerInstanceJobs(runner, instanceJobDeps);
  registerRepositoryJobs(runner, repositoryJobDeps);
  registerModuleJobs(runner, repositoryJobDeps);
  registerBackupJobs(runner, backupJobDeps);
  const reconcile = new ReconcileService(db, hosts, databaseServers, audit, box, config.namespace, logger);
  let started = false;
  return {
    audit,
    users,
    auth: new AuthService(db, clock, audit, config),
    tokens: new TokenService(db, clock, audit),
    organizations,
    invitations,
    accounts: new AccountService(db, clock, audit),
    setup: new SetupService(db, clock, users),
    operations,
    runner,
    hosts,
    databaseServers,
    projects,
    instances,
    backups,
    destinations,
    schedules,
    instanceStats: new InstanceStatsService(instances, hosts, databaseServers),
    status,
    reconcile,
    logs: new LogService(instances, hosts),
    systemLogs: new SystemLogService(systemLogFile(config.dataDir)),
    settings,
    outbound,
    gitSettings,
    notifications,
    repositories,
    modules,
    submitRepositoryJob,
    pushHookGuard: new PushHookGuard(db, clock, config.webhooks),
    importLimits,
    async startBackground() {
      started = true;
      const local = await hosts.registerLocal(config.docker.host);
      await runner.start();
      // After interrupted jobs were failed and undone: whatever backup they left unfinished is failed.
      await backups.sweep();
      status.start([LOCAL_HOST_ID]);
      // Its first tick catches up, once, on runs missed while Marina was down.
      schedules.start(config.backups.schedulerIntervalMs);
      if (local.state === 'reachable') {
        // Say at start-up what does not add up; removing is an admin's decision.
        const report = await reconcile.report().catch(() => undefined);
        if (report && (report.orphans.length > 0 || report.missing.length > 0)) {
          logger.warn(
            { orphans: report.orphans.map((o) => `${o.kind} ${o.name}`), missing: report.missing.map((m) => m.name) },
            'reconciliation: some Docker objects or databases are unknown to Marina, or known instances lack their container (GET /api/v1/reconcile)',
          );
        }
      }
    },
    async stopBackground() {
      if (!started) return;
      await schedules.stop();
      await status.stop();
      await runner.stop();
    },
  };
}

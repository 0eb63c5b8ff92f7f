import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Git } from '../adapters/git/git.js';
import { probeStore } from '../adapters/storage/index.js';
import type { MarinaConfig } from '../config.js';
import type { Db } from '../db/database.js';
import { buildCatalog } from '../odoo/versions.js';
import { AccountService } from './accounts.js';
import { AuditService } from './audit.js';
import { AuthService } from './auth.js';
import { type BackupJobDeps, registerBackupJobs, safetyBackup } from './backup-jobs.js';
import { BackupStorage } from './backup-storage.js';
import { BackupService } from './backups.js';
import type { Clock } from './clock.js';
import { CopyService } from './copies.js';
import { DatabaseServerService } from './database-servers.js';
import { DestinationService } from './destinations.js';
import { GitSettingsService } from './git-settings.js';
import { HostService, LOCAL_HOST_ID } from './hosts.js';
import { ImportLimitsService } from './import-limits.js';
import { HEALTH_TIMEOUT_MS, type InstanceJobDeps, registerInstanceJobs } from './instance-jobs.js';
import { InstanceStatsService } from './instance-stats.js';
import { InstanceBus, InstanceService } from './instances.js';
import { InvitationService } from './invitations.js';
import { JobRunner } from './jobs.js';
import { LogService } from './logs.js';
import { ModuleService, registerModuleJobs } from './modules.js';
import { NotificationService } from './notifications.js';
import { OperationBus, OperationService } from './operations.js';
import { OrganizationService } from './organizations.js';
import { OutboundSettingsService } from './outbound-settings.js';
import { ProjectService } from './projects.js';
import { PushHookGuard } from './push-hook-guard.js';
import { ReconcileService } from './reconcile.js';
import { RepositoryService, reconfigureSteps, type SubmitUpdate, updateSteps } from './repositories.js';
import { prepareCheckouts, type RepositoryJobDeps, registerRepositoryJobs } from './repository-jobs.js';
import { ScheduleService } from './schedules.js';
import type { SecretBox } from './secret-box.js';
import { SettingsService } from './settings.js';
import { SetupService } from './setup.js';
import { StatusTracker } from './status.js';
import { SystemLogService, systemLogFile } from './system-logs.js';
import { TokenService } from './tokens.js';
import { UserService } from './users.js';

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

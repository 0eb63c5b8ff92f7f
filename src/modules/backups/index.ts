import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Hooks } from '../../platform/hooks.js';
import type { OperationService } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import type { NotificationService } from '../../platform/notifications.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { InstanceHooks } from '../instances/hooks.js';
import type { InstancesModule } from '../instances/index.js';
import type { OffsiteStores } from '../offsite/index.js';
import type { BackupHooks } from './hooks.js';
import { pgMajorOfImage } from './import-check.js';
import { ImportLimitsService } from './import-limits.js';
import { BackupImports } from './imports.js';
import { type BackupJobDeps, registerBackupJobs, safetyBackup } from './jobs.js';
import { MoveService } from './move.js';
import { BackupQueries } from './queries.js';
import { RecoveryService } from './recover.js';
import { BackupService } from './service.js';
import { BackupStorage } from './storage.js';
import { FillTargets } from './targets.js';
import { RestoreUndo } from './undo.js';
import { BackupWriter } from './writer.js';

/**
 * The local backup files and the one writer of their records. Made before the backups module:
 * the offsite copies (wired before it) mark a file present again when they bring it back.
 */
export function createBackupRecords(deps: { db: Db; clock: Clock; config: Pick<MarinaConfig, 'backups'> }) {
  const storage = new BackupStorage(deps.config.backups.dir);
  return { storage, writer: new BackupWriter({ db: deps.db, clock: deps.clock, storage }) };
}

export { recoveryRoutes } from './recover-routes.js';
export { backupRoutes } from './routes.js';

export interface BackupsModuleDeps {
  db: Db;
  logger: Logger;
  clock: Clock;
  audit: AuditService;
  operations: OperationService;
  runner: JobRunner;
  notifications: NotificationService;
  config: Pick<MarinaConfig, 'backups' | 'postgresImage' | 'publicUrl' | 'restoreUndoHours'>;
  databaseServers: DatabaseServerService;
  instances: InstancesModule;
  /** Where copies go and the copies themselves (the offsite module's stores). */
  offsite: OffsiteStores;
  /** The local backup files. */
  storage: BackupStorage;
  /** The one writer of the `backups` table, shared with the offsite copies (see `createBackupRecords`). */
  writer: BackupWriter;
  /** Answers "before an instance is deleted"; asks for retention after scheduled runs. */
  hooks: Hooks<InstanceHooks & BackupHooks>;
}

export interface BackupsModule {
  backups: BackupService;
  /** Caps on what an imported archive may hold (a platform setting). */
  importLimits: ImportLimitsService;
  /** Swapping back what a restore replaced, and deleting it once its time is up. */
  restoreUndo: RestoreUndo;
  /** What the backup jobs need; the repository jobs build on it. */
  jobDeps: BackupJobDeps;
  /** An instance of a lost cluster node brought back on another node from its latest backup. */
  recovery: RecoveryService;
  /** Instances moved between cluster nodes, one at a time or a drained node's all. */
  moves: MoveService;
  registerJobs(runner: JobRunner): void;
}

/** Backups: records, files, downloads, imports, and the jobs that write, test, restore and clone them. */
export function createBackupsModule(deps: BackupsModuleDeps): BackupsModule {
  const { db, clock, audit, operations, runner, notifications, config, databaseServers, storage, writer, hooks } = deps;
  const { destinations, copies } = deps.offsite;
  const instances = deps.instances.instances;
  const importLimits = new ImportLimitsService({ db, clock, audit });
  const queries = new BackupQueries({ db, instances, databaseServers, copies });
  const targets = new FillTargets({ db, instances });
  const imports = new BackupImports({
    db,
    audit,
    runner,
    instances,
    storage,
    writer,
    targets,
    importLimits,
    uploadLimitBytes: config.backups.uploadLimitBytes,
    pgRestoreMajor: pgMajorOfImage(config.backups.toolsImage ?? config.postgresImage),
  });
  const backups = new BackupService({
    db,
    audit,
    operations,
    runner,
    instances,
    storage,
    copies,
    destinations,
    queries,
    writer,
    targets,
    imports,
  });
  const jobDeps: BackupJobDeps = {
    ...deps.instances.jobDeps,
    backups,
    clock,
    toolsImage: config.backups.toolsImage ?? config.postgresImage,
    toolsImageSet: config.backups.toolsImage !== undefined,
    backupJobs: config.backups.jobs,
    restoreUndoHours: config.restoreUndoHours,
    destinations,
    publicUrl: config.publicUrl,
    notifications,
    schedules: {
      applyRetention: async (instanceId, log) => {
        const results = await hooks.run('applyRetention', instanceId, log);
        return { removed: results.reduce((sum, r) => sum + r.removed, 0) };
      },
    },
    completed: {
      backup: async (instanceId) => {
        await hooks.run('backupCompleted', instanceId);
      },
      restore: async (instanceId) => {
        await hooks.run('restoreCompleted', instanceId);
      },
      interrupted: async (instanceId) => {
        await hooks.run('backupInterrupted', instanceId);
      },
    },
  };
  hooks.on('beforeInstanceDelete', async (job, instance) => {
    await safetyBackup(jobDeps, job, instance, 'pre-delete');
  });
  return {
    backups,
    restoreUndo: new RestoreUndo({ db, clock, logger: deps.logger, instances }),
    importLimits,
    jobDeps,
    recovery: new RecoveryService({ db, clock, audit, operations, runner, instances, hosts: jobDeps.hosts }),
    moves: new MoveService({ db, audit, operations, runner, instances, hosts: jobDeps.hosts }),
    registerJobs: (jobRunner) => registerBackupJobs(jobRunner, jobDeps),
  };
}

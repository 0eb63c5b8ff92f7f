import type { Logger } from 'pino';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import { probeStore } from '../../adapters/storage/index.js';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Hooks } from '../../platform/hooks.js';
import type { OperationService } from '../../platform/jobs/operations.js';
import type { JobRunner } from '../../platform/jobs/runner.js';
import type { NotificationService } from '../../platform/notifications.js';
import type { QuotaGate } from '../../platform/quota.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { BackupHooks } from '../backups/hooks.js';
import type { BackupService } from '../backups/service.js';
import type { BackupStorage } from '../backups/storage.js';
import type { BackupWriter } from '../backups/writer.js';
import type { InstanceService } from '../instances/service.js';
import { CopyService } from './copies.js';
import { type CopyRetryDeps, copyRetryHandler } from './copy-job.js';
import { DestinationService } from './destinations.js';
import { RetentionService } from './retention-runs.js';
import { ScheduleService } from './schedules.js';

export { offsiteRoutes } from './routes.js';

export interface OffsiteStoresDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  logger: Logger;
  config: Pick<MarinaConfig, 'backups'>;
  /** Checks every address a destination names before anything connects to it. */
  guard: OutboundGuard;
  /** The local backup files the copies are made from. */
  storage: BackupStorage;
  /** The one writer of backup records (the backups module's). */
  writer: BackupWriter;
  /** The organization's plan (src/modules/plans): offsite copies within its allowance. */
  quotas?: QuotaGate;
}

/** Where backups are copied and the copies themselves: what backups list, plan and remove. */
export interface OffsiteStores {
  destinations: DestinationService;
  copies: CopyService;
}

/**
 * The offsite module is wired in two steps because backups and schedules use each other: its
 * stores (destinations, copies) come before the backups module, which lists and removes copies;
 * its schedules and retention come after it, since they start and remove backups.
 */
export function createOffsiteStores({
  db,
  clock,
  audit,
  box,
  logger,
  config,
  guard,
  storage,
  writer,
  quotas,
}: OffsiteStoresDeps): OffsiteStores {
  const destinations = new DestinationService({ db, clock, audit, box, probe: probeStore, guard });
  const copies = new CopyService({
    db,
    clock,
    destinations,
    storage,
    writer,
    retryDelaysMs: config.backups.uploadRetryDelaysMs,
    logger,
    quotas,
  });
  return { destinations, copies };
}

export interface OffsiteModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  config: Pick<MarinaConfig, 'publicUrl' | 'backups'>;
  operations: OperationService;
  runner: JobRunner;
  notifications: NotificationService;
  instances: InstanceService;
  backups: BackupService;
  stores: OffsiteStores;
  /** The backups module asks for retention after scheduled runs; this module answers. */
  hooks: Hooks<BackupHooks>;
}

export interface OffsiteModule extends OffsiteStores {
  schedules: ScheduleService;
  retention: RetentionService;
  /** What "Retry copy" needs: it queues a job that uploads a backup again where its copy failed. */
  copyRetry: CopyRetryDeps;
  /** Follows the schedules (their first tick catches up on runs missed while Marina was down). */
  start(): void;
  stop(): Promise<void>;
}

/** Backup schedules, retention, and the destinations and copies they work with. */
export function createOffsiteModule(deps: OffsiteModuleDeps): OffsiteModule {
  const { db, clock, audit, logger, config, operations, runner, notifications, instances, backups, stores, hooks } =
    deps;
  const { destinations, copies } = stores;
  const schedules = new ScheduleService({
    db,
    clock,
    audit,
    instances,
    backups,
    destinations,
    operations,
    runner,
    notifications,
    publicUrl: config.publicUrl,
    logger,
  });
  const retention = new RetentionService({
    db,
    audit,
    operations,
    runner,
    instances,
    backups,
    destinations,
    copies,
    schedules,
  });
  hooks.on('applyRetention', (instanceId, log) => retention.applyRetention(instanceId, log));
  const copyRetry: CopyRetryDeps = { db, audit, operations, runner, queries: backups.queries, destinations, copies };
  runner.register(copyRetryHandler(copyRetry));
  return {
    destinations,
    copies,
    schedules,
    retention,
    copyRetry,
    start: () => schedules.start(config.backups.schedulerIntervalMs),
    stop: () => schedules.stop(),
  };
}

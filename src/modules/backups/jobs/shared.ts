import { Type } from 'typebox';
import { BackupFileWriter } from '../../../adapters/archive/backup-file.js';
import { createDatabaseFor, dropDatabase, swapDatabases, withClient } from '../../../adapters/postgres/admin.js';
import type { Backup, BackupFormat, BackupKind, BackupTrigger, Instance, Operation } from '../../../db/schema.js';
import { buildManifest } from '../../../odoo/backup-archive.js';
import type { OdooVersion } from '../../../odoo/versions.js';
import type { Clock } from '../../../platform/clock.js';
import { MarinaError } from '../../../platform/errors.js';
import type { JobActivity, JobMemory } from '../../../platform/jobs/define.js';
import type { NotificationService } from '../../../platform/notifications.js';
import { sealedAt } from '../../../platform/secrets/sealed-columns.js';
import type { InstanceJobDeps } from '../../instances/jobs.js';
import type { DestinationService } from '../../offsite/destinations.js';
import type { RetentionService } from '../../offsite/retention-runs.js';
import {
  asRole,
  type Credentials,
  createScratch,
  type DataPlane,
  databaseFacts,
  loadArchive,
  removeFilestoreFolder,
  removeScratch,
  writeNativeArchive,
  writeZipArchive,
} from '../engine.js';
import type { BackupService } from '../service.js';

/** What writing a backup records in its job: the backup, and that a scratch area may exist. */
export const writtenBackupMemory = { backup: Type.String(), scratch: Type.Boolean() };
/** What a safety backup records in the job that takes it. */
export const safetyBackupMemory = { ...writtenBackupMemory, safetyBackup: Type.String() };

type WrittenBackup = { backup: string; scratch: boolean };
type SafetyBackupMemory = WrittenBackup & { safetyBackup: string };

export interface BackupJobDeps extends InstanceJobDeps {
  backups: BackupService;
  destinations: DestinationService;
  /** Retention after scheduled runs (the offsite module answers it through a hook). */
  schedules?: Pick<RetentionService, 'applyRetention'>;
  /**
   * Told when a backup is written (beside it: it changes nothing measured) or a restore completed,
   * through the hooks: the plans measure storage.
   */
  completed?: {
    backup(instanceId: string): Promise<void>;
    restore(instanceId: string): Promise<void>;
    /** A backup was interrupted while that measurement ran beside it: what it left is removed. */
    interrupted(instanceId: string): Promise<void>;
  };
  notifications?: NotificationService;
  publicUrl: string;
  clock: Clock;
  toolsImage: string;
  /** MARINA_BACKUP_TOOLS_IMAGE was given. */
  toolsImageSet: boolean;
  backupJobs: number;
  /** Hours what a restore or clone over an instance replaced is kept for its undo (0: not kept). */
  restoreUndoHours: number;
}

/** The plane one job's data moves through: the instance's host, its database server, its network. */
export async function planeFor(deps: BackupJobDeps, instance: Instance, operationId: string): Promise<DataPlane> {
  if (!instance.database_server_id)
    throw new MarinaError('MARINA_E_NO_DATABASE', 'The instance has no database server yet.');
  const server = await deps.databaseServers.get(instance.database_server_id);
  return {
    runtime: await deps.hosts.reachableRuntime(instance.host_id),
    namespace: deps.namespace,
    // An explicit tools image wins (its pg_dump must be as new as the server); else the server's own.
    toolsImage: deps.toolsImageSet ? deps.toolsImage : (server.image ?? deps.toolsImage),
    network: server.network ?? deps.namespace,
    internal: { host: server.internal_host, port: server.internal_port },
    admin: await deps.databaseServers.connection(server),
    // Imported dumps load from a network that holds the managed server and nothing else.
    loadNetwork:
      server.kind === 'managed' && server.container_name
        ? { name: `${deps.namespace}-dbload`, dbContainer: server.container_name }
        : undefined,
    jobs: deps.backupJobs,
    operationId,
  };
}

/** The backup's file here and whole: fetched back from an offsite copy when it is gone, then checked. */
export async function fetchVerified(
  deps: BackupJobDeps,
  job: { progress(percent: number): unknown },
  backup: Backup,
): Promise<Backup> {
  let current = backup;
  if (current.local_status === 'deleted' || (await deps.backups.storage.size(current)) === undefined) {
    await deps.backups.copies.fetchToLocal(current, (f) => void job.progress(f * 100));
    current = await deps.backups.row(current.id);
  }
  await deps.backups.verifyFile(current, (f) => void job.progress(f * 100));
  return current;
}

export const tempDb = (db: string) => `${db}_restore`;
export const loadFolder = (db: string) => `${db}.restoring`;

/**
 * Writes one backup of an instance to its file; marks it completed only once the file is synced
 * under its real name with its checksum. Used by backup jobs and by the safety backups of others.
 */
export async function writeBackup(
  deps: BackupJobDeps,
  job: JobActivity & JobMemory<WrittenBackup>,
  plane: DataPlane,
  instance: Instance,
  backup: Backup,
): Promise<Backup> {
  const begun = performance.now();
  await job.remember('backup', backup.id);
  await deps.backups.markRunning(backup.id);
  const role = await roleOf(deps, instance);
  const facts = await databaseFacts(plane, instance.db_name, role);
  const manifest = buildManifest({
    dbName: instance.db_name,
    version: instance.odoo_version as OdooVersion,
    serverVersionNum: facts.serverVersionNum,
    modules: facts.modules,
    marina: {
      layout: 1,
      format: backup.format,
      kind: backup.kind,
      createdAt: backup.created_at.toISOString(),
      instance: instance.id,
    },
  });
  // Progress follows the bytes written against what the database and filestore hold (an estimate).
  const expected =
    (backup.kind !== 'filestore' ? facts.sizeBytes * (backup.format === 'zip' ? 0.25 : 0.4) : 0) +
    (backup.kind !== 'database' ? facts.filestoreBytes : 0);
  // Bytes made beside the data (archive-beside) count first; their join through the hash after.
  let made = 0;
  const progress = (bytes: number) => void job.progress(Math.min(99, (bytes / Math.max(1, expected)) * 100));
  const writer = await BackupFileWriter.create(deps.backups.storage.pathOf(backup), (bytes) =>
    progress(Math.max(made, bytes)),
  );
  try {
    if (backup.format === 'native') {
      await job.remember('scratch', true);
      await createScratch(plane);
    }
    const ready = ((performance.now() - begun) / 1000).toFixed(1);
    await job.log(
      `The database's facts${backup.format === 'native' ? ' and the scratch volume' : ''} took ${ready} s.`,
    );
    const source = { db: instance.db_name, role, volume: instance.volume_name, kind: backup.kind, manifest };
    if (backup.format === 'zip') await writeZipArchive(plane, source, writer);
    else
      await writeNativeArchive(
        plane,
        source,
        writer,
        (message) => void job.log(message),
        (bytes) => {
          made = bytes;
          progress(bytes);
        },
      );
    const committing = performance.now();
    const { sha256, sizeBytes } = await writer.commit();
    await job.log(`The file was flushed to disk in ${((performance.now() - committing) / 1000).toFixed(1)} s.`);
    await job.log(`${backup.format} ${backup.kind} backup: ${sizeBytes} bytes, sha256 ${sha256}.`);
    return await deps.backups.markCompleted(backup.id, { sha256, sizeBytes, manifest });
  } catch (error) {
    await writer.abort();
    await deps.backups.markFailed(backup.id, (error as Error).message);
    throw error;
  } finally {
    if (backup.format === 'native') await removeScratch(plane);
  }
}

/** Tells the organization's owners and admins that a scheduled backup or an offsite copy failed. */
export async function noticeFailure(
  deps: BackupJobDeps,
  backup: Backup,
  what: 'backup' | 'upload' | 'verification',
  error: unknown,
  destinationName?: string,
): Promise<void> {
  if (!deps.notifications) return;
  if (what === 'backup' && backup.trigger !== 'schedule') return;
  await deps.notifications
    .backupFailed({
      organizationId: backup.organization_id,
      instanceId: backup.instance_id,
      instanceLabel: backup.instance_label,
      trigger: backup.trigger,
      what,
      destinationName,
      error: error instanceof Error ? error.message : String(error),
      at: deps.clock.now(),
      url: backup.instance_id ? `${deps.publicUrl}/instances/${backup.instance_id}/backups` : deps.publicUrl,
    })
    .catch(() => undefined);
}

/** A job's own backup (or safety backup) that did not complete is failed and its file removed. */
export async function failBackupOf(deps: BackupJobDeps, resources: { backup?: string }): Promise<void> {
  const id = resources.backup;
  if (id === undefined) return;
  const backup = await deps.backups.row(id).catch(() => undefined);
  if (!backup || backup.status === 'completed') return;
  await deps.backups.markFailed(backup.id, 'Marina stopped or the job failed while this backup was being written.');
  await deps.backups.storage.remove(backup);
}

export async function cleanupPlane(deps: BackupJobDeps, op: Operation): Promise<void> {
  const instance = await deps.instances.row(op.target_id ?? '').catch(() => undefined);
  if (!instance) return;
  const runtime = await deps.hosts.reachableRuntime(instance.host_id);
  await removeScratch({ runtime, namespace: deps.namespace, operationId: op.id });
}

/** A safety backup (native: the fastest to take and to restore; full unless asked) inside another job. */
export async function safetyBackup(
  deps: BackupJobDeps,
  job: JobActivity & JobMemory<SafetyBackupMemory>,
  instance: Instance,
  trigger: BackupTrigger,
  kind: BackupKind = 'full',
): Promise<Backup> {
  const plane = await planeFor(deps, instance, job.operation.id);
  const backup = await deps.backups.record(deps.backups.database, instance, {
    kind,
    format: 'native' as BackupFormat,
    trigger,
    createdBy: job.operation.actor_label,
    operationId: job.operation.id,
  });
  const done = await writeBackup(deps, job, plane, instance, backup);
  await job.remember('safetyBackup', done.id);
  return done;
}

/**
 * Puts a backup's database back into its instance inside another job (an update's rollback):
 * loaded aside, checked, then swapped in. The caller stops and starts Odoo.
 */
export async function restoreDatabaseInPlace(
  deps: BackupJobDeps,
  job: Pick<JobActivity, 'operation' | 'log'>,
  instance: Instance,
  backup: Backup,
): Promise<void> {
  const plane = await planeFor(deps, instance, job.operation.id);
  await createScratch(plane);
  try {
    await dropDatabase(plane.admin, tempDb(instance.db_name));
    await createDatabaseFor(plane.admin, tempDb(instance.db_name), instance.db_name);
    await loadArchive(
      plane,
      {
        db: tempDb(instance.db_name),
        role: await roleOf(deps, instance),
        volume: instance.volume_name,
        filestoreDir: loadFolder(instance.db_name),
      },
      {
        format: backup.format,
        kind: 'database',
        path: deps.backups.storage.pathOf(backup),
        log: (message) => void job.log(message),
      },
    );
    await checkLoaded(plane, tempDb(instance.db_name), await roleOf(deps, instance));
    await swapDatabase(plane, instance.db_name);
    await dropDatabase(plane.admin, previousDb(instance.db_name));
  } catch (error) {
    await dropDatabase(plane.admin, tempDb(instance.db_name)).catch(() => undefined);
    throw error;
  } finally {
    await removeFilestoreFolder(plane, instance.volume_name, loadFolder(instance.db_name)).catch(() => undefined);
    await removeScratch(plane);
  }
}

export async function roleOf(deps: BackupJobDeps, instance: Instance) {
  return {
    user: instance.db_name,
    password: deps.box.open(instance.db_password, sealedAt('instances', 'db_password', instance.id)),
  };
}

export const previousDb = (db: string) => `${db}_previous`;

/**
 * Renames the loaded database into place, the old one aside as `<db>_previous` (dropped by
 * cleanUpPrevious); safe to run again after a crash (each rename happens once).
 */
export async function swapDatabase(plane: DataPlane, db: string): Promise<void> {
  await swapDatabases(plane.admin, { live: db, loaded: tempDb(db), aside: previousDb(db) });
}

/** What a swap put aside: the old database and filestore folder, deleted once Odoo is back. */
export async function cleanUpPrevious(plane: DataPlane, instance: Instance): Promise<void> {
  await dropDatabase(plane.admin, previousDb(instance.db_name));
  await removeFilestoreFolder(plane, instance.volume_name, `${instance.db_name}.previous`);
}

/**
 * Odoo must find its own tables in what was loaded, or the load is not a database Odoo can run.
 * Read as the role that owns what was loaded: its views and search_path are the tenant's.
 */
export async function checkLoaded(plane: DataPlane, db: string, role: Credentials): Promise<void> {
  const ok = await withClient(asRole(plane, role), db, async (c) => {
    const result = await c
      .query<{ n: string }>(
        "SELECT count(*)::text AS n FROM ir_module_module WHERE name = 'base' AND state = 'installed'",
      )
      .catch(() => ({ rows: [{ n: '0' }] }));
    return Number(result.rows[0]?.n) === 1;
  });
  if (!ok)
    throw new MarinaError(
      'MARINA_E_ARCHIVE_INVALID',
      'What was loaded is not an Odoo database (no installed base module).',
    );
}

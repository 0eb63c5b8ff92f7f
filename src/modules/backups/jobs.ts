import { randomUUID } from 'node:crypto';
import { BackupFileWriter, fileSha256 } from '../../adapters/archive/backup-file.js';
import {
  createDatabaseFor,
  createRoleAndDatabase,
  databaseExists,
  dropDatabase,
  dropDatabaseAndRole,
  renameDatabase,
  withClient,
} from '../../adapters/postgres/admin.js';
import type {
  Backup,
  BackupFormat,
  BackupKind,
  BackupTrigger,
  BackupVerification,
  Instance,
  Operation,
} from '../../db/schema.js';
import { buildManifest, copyParameters } from '../../odoo/backup-archive.js';
import { type OdooVersion, versionFacts } from '../../odoo/versions.js';
import type { Clock } from '../../platform/clock.js';
import { MarinaError } from '../../platform/errors.js';
import type { JobContext, JobHandler, JobRunner } from '../../platform/jobs/runner.js';
import type { NotificationService } from '../../platform/notifications.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { DockerEngine } from '../../runtime/docker/engine.js';
import { createServerContainer, healthy, type InstanceJobDeps, runtimeOf } from '../instances/jobs.js';
import { commandSpec, instanceLabels, odooErrorLines, writeConf } from '../instances/odoo-container.js';
import type { DestinationService } from '../offsite/destinations.js';
import type { ScheduleService } from '../offsite/schedules.js';
import {
  asRole,
  type Credentials,
  copyDatabase,
  copyFilestore,
  createScratch,
  type DataPlane,
  databaseFacts,
  loadArchive,
  ownDataVolume,
  removeFilestoreFolder,
  removeScratch,
  swapFilestore,
  writeNativeArchive,
  writeZipArchive,
} from './engine.js';
import { type BackupService, backupSteps, type CreateJobInput } from './service.js';

export interface BackupJobDeps extends InstanceJobDeps {
  backups: BackupService;
  destinations: DestinationService;
  /** Retention after scheduled runs; set once the schedule service exists. */
  schedules?: ScheduleService;
  notifications?: NotificationService;
  publicUrl: string;
  clock: Clock;
  toolsImage: string;
  /** MARINA_BACKUP_TOOLS_IMAGE was given. */
  toolsImageSet: boolean;
  backupJobs: number;
}

/** The plane one job's data moves through: the instance's host, its database server, its network. */
async function planeFor(deps: BackupJobDeps, instance: Instance, operationId: string): Promise<DataPlane> {
  if (!instance.database_server_id)
    throw new MarinaError('MARINA_E_JOB_FAILED', 'The instance has no database server yet.');
  const server = await deps.databaseServers.get(instance.database_server_id);
  return {
    engine: await deps.hosts.reachableEngine(instance.host_id),
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

const tempDb = (db: string) => `${db}_restore`;
const loadFolder = (db: string) => `${db}.restoring`;

/**
 * Writes one backup of an instance to its file; marks it completed only once the file is synced
 * under its real name with its checksum. Used by backup jobs and by the safety backups of others.
 */
async function writeBackup(
  deps: BackupJobDeps,
  job: JobContext<unknown>,
  plane: DataPlane,
  instance: Instance,
  backup: Backup,
): Promise<Backup> {
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
  const writer = await BackupFileWriter.create(deps.backups.storage.pathOf(backup), (bytes) => {
    void job.progress(Math.min(99, (bytes / Math.max(1, expected)) * 100));
  });
  try {
    if (backup.format === 'native') {
      await job.remember('scratch', true);
      await createScratch(plane);
    }
    const source = { db: instance.db_name, role, volume: instance.volume_name, kind: backup.kind, manifest };
    if (backup.format === 'zip') await writeZipArchive(plane, source, writer);
    else await writeNativeArchive(plane, source, writer);
    const { sha256, sizeBytes } = await writer.commit();
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

function backupHandler(deps: BackupJobDeps): JobHandler<CreateJobInput> {
  return {
    kind: 'backup.create',
    steps: backupSteps.create,
    run: async (job) => {
      try {
        return await runBackup(deps, job);
      } catch (error) {
        const backup = await deps.backups.row(job.input.backupId).catch(() => undefined);
        const copyFailed = error instanceof MarinaError && error.code === 'MARINA_E_COPY_FAILED';
        // A failed copy was told about as it failed, naming its destination.
        if (backup && !copyFailed) await noticeFailure(deps, backup, 'backup', error);
        throw error;
      }
    },
    recover: async (op, error) => {
      const id = op.resources.backup;
      await failBackupOf(deps, op);
      await cleanupPlane(deps, op);
      if (typeof id === 'string') {
        await deps.backups.copies.failUnfinished(id, 'Marina stopped or the job failed during this upload.');
        // Interrupted (a crash, a restart): nobody saw it fail, so say so like any failure.
        if (error.code === 'MARINA_E_INTERRUPTED') {
          const backup = await deps.backups.row(id).catch(() => undefined);
          if (backup) await noticeFailure(deps, backup, 'backup', new Error(error.message));
        }
      }
    },
  };
}

async function runBackup(deps: BackupJobDeps, job: JobContext<CreateJobInput>) {
  let backup = await deps.backups.row(job.input.backupId);
  const instance = await deps.instances.row(job.operation.target_id ?? '');
  let plane: DataPlane | undefined;
  await job.step('prepare', async () => {
    plane = await planeFor(deps, instance, job.operation.id);
  });
  await job.step('write', async () => {
    backup = await writeBackup(deps, job as JobContext<unknown>, plane as DataPlane, instance, backup);
  });
  await job.step('finish', async () => {
    // Read back from disk: what is on disk is what a restore will read.
    const sha = await fileSha256(deps.backups.storage.pathOf(backup));
    if (sha !== backup.sha256) {
      await deps.backups.markFailed(backup.id, 'The file on disk does not match the checksum computed while writing.');
      throw new MarinaError('MARINA_E_JOB_FAILED', 'The backup file does not verify: its checksum differs.');
    }
  });
  const destinationIds = job.input.destinationIds ?? [];
  let copyError: unknown;
  if (destinationIds.length > 0) {
    await job.step('upload', async () => {
      const done = backup;
      for (const [index, id] of destinationIds.entries()) {
        const destination = await deps.destinations.row(id);
        try {
          await deps.backups.copies.upload(done, destination, {
            progress: (f) => void job.progress(((index + f) / destinationIds.length) * 100),
            log: (message, level) => void job.log(message, level),
          });
        } catch (error) {
          // The other destinations still get their copy; the job fails at the end.
          copyError ??= error;
          await noticeFailure(deps, done, 'upload', error, destination.name);
        }
      }
    });
  }
  if (job.input.retention && deps.schedules) {
    const schedules = deps.schedules;
    await job.step('retention', async () => {
      const result = await schedules.applyRetention(instance.id, (message) => void job.log(message));
      await job.log(`Retention removed ${result.removed} file(s) or copies.`);
    });
  }
  if (copyError) throw copyError;
  return { backupId: backup.id, sizeBytes: Number(backup.size_bytes), sha256: backup.sha256 };
}

/** A job's own backup (or safety backup) that did not complete is failed and its file removed. */
async function failBackupOf(deps: BackupJobDeps, op: Operation): Promise<void> {
  const id = op.resources.backup;
  if (typeof id !== 'string') return;
  const backup = await deps.backups.row(id).catch(() => undefined);
  if (!backup || backup.status === 'completed') return;
  await deps.backups.markFailed(backup.id, 'Marina stopped or the job failed while this backup was being written.');
  await deps.backups.storage.remove(backup);
}

async function cleanupPlane(deps: BackupJobDeps, op: Operation): Promise<void> {
  const instance = await deps.instances.row(op.target_id ?? '').catch(() => undefined);
  if (!instance) return;
  const engine = await deps.hosts.reachableEngine(instance.host_id);
  await removeScratch({ engine, namespace: deps.namespace, operationId: op.id });
}

/** A safety backup (native: the fastest to take and to restore; full unless asked) inside another job. */
export async function safetyBackup(
  deps: BackupJobDeps,
  job: JobContext<unknown>,
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
  job: Pick<JobContext<unknown>, 'operation' | 'log'>,
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

interface FillInput {
  backupId?: string;
  sourceId?: string;
  filestore?: boolean;
  copy: boolean;
  neutralize: boolean;
}

/** What a fill loads: a backup's archive, or a live instance's database and filestore. */
type Loader = (
  plane: DataPlane,
  target: Instance,
  job: JobContext<FillInput>,
) => Promise<{ db: boolean; files: boolean }>;

async function roleOf(deps: BackupJobDeps, instance: Instance) {
  return {
    user: instance.db_name,
    password: deps.box.open(instance.db_password, sealedAt('instances', 'db_password', instance.id)),
  };
}

const previousDb = (db: string) => `${db}_previous`;

/**
 * Renames the loaded database into place, the old one aside as `<db>_previous` (dropped by
 * cleanUpPrevious); safe to run again after a crash (each rename happens once).
 */
async function swapDatabase(plane: DataPlane, db: string): Promise<void> {
  if (await databaseExists(plane.admin, tempDb(db))) {
    if (await databaseExists(plane.admin, db)) {
      await dropDatabase(plane.admin, previousDb(db));
      await renameDatabase(plane.admin, db, previousDb(db));
    }
    await renameDatabase(plane.admin, tempDb(db), db);
  }
}

/** What a swap put aside: the old database and filestore folder, deleted once Odoo is back. */
async function cleanUpPrevious(plane: DataPlane, instance: Instance): Promise<void> {
  await dropDatabase(plane.admin, previousDb(instance.db_name));
  await removeFilestoreFolder(plane, instance.volume_name, `${instance.db_name}.previous`);
}

/**
 * A copy is a new database: its own uuid, secret, creation date and URL (ARCHITECTURE.md). Written
 * as the instance's role: a trigger the tenant planted on ir_config_parameter runs with its rights.
 */
async function giveOwnIdentity(deps: BackupJobDeps, plane: DataPlane, instance: Instance, db: string): Promise<void> {
  const params = copyParameters(deps.clock.now(), deps.instances.url(instance), randomUUID);
  await withClient(asRole(plane, await roleOf(deps, instance)), db, async (c) => {
    await c.query('BEGIN');
    for (const [key, value] of params) {
      await c.query(
        `INSERT INTO ir_config_parameter (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, value],
      );
    }
    await c.query('COMMIT');
  });
}

/**
 * Odoo must find its own tables in what was loaded, or the load is not a database Odoo can run.
 * Read as the role that owns what was loaded: its views and search_path are the tenant's.
 */
async function checkLoaded(plane: DataPlane, db: string, role: Credentials): Promise<void> {
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

/**
 * Neutralizes a copy: Odoo's own `odoo neutralize` (16.0+), then Marina's step — every outgoing
 * mail server inactive, whatever neutralize added, so that a copy can never mail real customers.
 */
async function neutralize(
  deps: BackupJobDeps,
  engine: DockerEngine,
  instance: Instance,
  job: JobContext<unknown>,
): Promise<void> {
  const runtime = await runtimeOf(deps, instance);
  const facts = versionFacts(instance.odoo_version as OdooVersion);
  if (facts.neutralize) {
    await engine.remove(`${instance.container_name}-neutralize`);
    const result = await engine.run(commandSpec(runtime.rt, instance, 'neutralize'), {
      beforeStart: (id) => writeConf(engine, id, runtime.conf, runtime.catalog.image),
    });
    if (result.exitCode !== 0)
      throw new MarinaError(
        'MARINA_E_JOB_FAILED',
        `odoo neutralize failed (exit code ${result.exitCode}):\n${odooErrorLines(result.output).join('\n')}`,
      );
    await job.log('odoo neutralize: done.');
  }
  await withClient(await deps.databaseServers.forInstance(instance), instance.db_name, async (c) => {
    await c.query('BEGIN');
    const mail = await c.query('UPDATE ir_mail_server SET active = false WHERE active');
    if (!facts.neutralize) {
      await c.query(
        "UPDATE ir_cron SET active = false WHERE id NOT IN (SELECT res_id FROM ir_model_data WHERE model = 'ir.cron' AND module = 'base' AND name = 'autovacuum_job')",
      );
    }
    await c.query(
      `INSERT INTO ir_config_parameter (key, value) VALUES ('database.is_neutralized', 'True')
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    );
    await c.query('COMMIT');
    await job.log(`Outgoing mail servers deactivated: ${mail.rowCount ?? 0}.`);
  });
}

/** Restore and clone share one path into a target: stop, safety backup, load aside, swap, start. */
function fillHandler(
  deps: BackupJobDeps,
  kind: 'backup.restore' | 'instance.clone',
  load: Loader,
): JobHandler<FillInput> {
  return {
    kind,
    steps: ['verify', 'stop', 'safety-backup', 'create', 'load', 'swap', 'neutralize', 'start', 'health', 'cleanup'],
    run: async (job) => {
      const id = job.operation.target_id ?? '';
      let instance = await deps.instances.row(id);
      const has = (step: string) => job.operation.steps.some((s) => s.name === step);
      const generic = job as unknown as JobContext<unknown>;
      let engine = await deps.hosts.reachableEngine(instance.host_id);

      if (has('verify')) {
        await job.step('verify', async () => {
          let backup = await deps.backups.row(job.input.backupId ?? '');
          if (backup.local_status === 'deleted' || (await deps.backups.storage.size(backup)) === undefined) {
            await job.log('The local file is gone: fetching the backup from its offsite copy.');
            await deps.backups.copies.fetchToLocal(backup, (fraction) => void job.progress(fraction * 50));
            backup = await deps.backups.row(backup.id);
          }
          await deps.backups.verifyFile(backup, (fraction) => void job.progress(fraction * 100));
          await job.log(`The backup file verifies (sha256 ${backup.sha256}).`);
        });
      }
      if (has('stop')) {
        await job.step('stop', async () => {
          const state = await engine.state(instance.container_name);
          await job.remember('wasRunning', Boolean(state?.running));
          instance = await deps.instances.setStatus(id, 'restoring', 'stopped for a restore');
          if (state?.running) await engine.stop(instance.container_name);
        });
        await job.step('safety-backup', async () => {
          const backup = await safetyBackup(deps, generic, instance, 'pre-restore');
          await job.log(`Safety backup ${backup.id} taken before replacing anything.`);
        });
      }
      if (has('create')) {
        await job.step('create', async () => {
          const server = await deps.databaseServers.forInstances(instance.host_id);
          await deps.instances.attachDatabaseServer(id, server.id);
          instance = await deps.instances.row(id);
          await job.remember('fresh', true);
          await createRoleAndDatabase(
            await deps.databaseServers.connection(server),
            instance.db_name,
            deps.box.open(instance.db_password, sealedAt('instances', 'db_password', instance.id)),
          );
          engine = await deps.hosts.reachableEngine(instance.host_id);
          await engine.ensureVolume(instance.volume_name, instanceLabels(deps.namespace, instance));
        });
      }
      const plane = await planeFor(deps, instance, job.operation.id);
      if (has('create')) await ownDataVolume(plane, instance.volume_name);
      let loaded = { db: false, files: false };
      await job.step('load', async () => {
        await job.remember('scratch', true);
        await createScratch(plane);
        try {
          await job.remember('tempDb', tempDb(instance.db_name));
          await createDatabaseFor(plane.admin, tempDb(instance.db_name), instance.db_name);
          loaded = await load(plane, instance, job);
          if (loaded.db) {
            await checkLoaded(plane, tempDb(instance.db_name), await roleOf(deps, instance));
            if (job.input.copy) await giveOwnIdentity(deps, plane, instance, tempDb(instance.db_name));
          }
        } finally {
          await removeScratch(plane);
        }
      });
      await job.step('swap', async () => {
        await job.remember('swap', 'started');
        if (loaded.db) await swapDatabase(plane, instance.db_name);
        else await dropDatabase(plane.admin, tempDb(instance.db_name));
        if (loaded.files)
          await swapFilestore(plane, instance.volume_name, instance.db_name, loadFolder(instance.db_name));
        else await removeFilestoreFolder(plane, instance.volume_name, loadFolder(instance.db_name));
        await job.remember('swap', 'done');
        if (job.input.copy && loaded.db) await deps.instances.forgetAdminPassword(id);
      });
      if (has('neutralize')) await job.step('neutralize', () => neutralize(deps, engine, instance, generic));
      await job.step('start', async () => {
        instance = await deps.instances.setStatus(id, 'starting', null);
        // A new instance (a staging copy) gets its project's repositories before Odoo starts.
        if (has('create') && deps.prepareAddons) await deps.prepareAddons(generic, instance);
        if (!(await engine.state(instance.container_name))) {
          await job.remember('container', instance.container_name);
          const containerId = await createServerContainer(deps, engine, instance);
          instance = await deps.instances.setStatus(id, 'starting', null, { container_id: containerId });
        }
        await engine.start(instance.container_name);
      });
      await job.step('health', () => healthy(deps, engine, instance));
      if (has('cleanup')) {
        await job.step('cleanup', async () => {
          // The instance is restored and running: a leftover must not turn that into a failure.
          // The next restore's swap, or this job's recovery, deletes what stays.
          try {
            await cleanUpPrevious(plane, instance);
            await job.log('The replaced database and filestore are deleted.');
          } catch (error) {
            await job.log(
              `Could not delete the replaced database and filestore yet: ${(error as Error).message}`,
              'warn',
            );
          }
        });
      }
      return { instanceId: id, url: deps.instances.url(instance) };
    },
    recover: async (op, error) => {
      await failBackupOf(deps, op);
      const instance = await deps.instances.row(op.target_id ?? '').catch(() => undefined);
      if (!instance) return;
      const engine = await deps.hosts.reachableEngine(instance.host_id);
      const plane = instance.database_server_id ? await planeFor(deps, instance, op.id) : undefined;
      const r = op.resources;
      if (plane) {
        await removeScratch(plane);
        if (r.swap === 'started' || r.swap === 'done') {
          // Past the point of no return: finish the swap, so the instance is restored, not half.
          await swapDatabase(plane, instance.db_name);
          await swapFilestore(plane, instance.volume_name, instance.db_name, loadFolder(instance.db_name));
          await cleanUpPrevious(plane, instance);
        } else if (r.tempDb) {
          // Before the swap nothing of the instance was touched: drop what was loaded aside.
          await dropDatabase(plane.admin, tempDb(instance.db_name));
          await removeFilestoreFolder(plane, instance.volume_name, loadFolder(instance.db_name));
        }
      }
      const swapped = r.swap === 'started' || r.swap === 'done';
      if (r.fresh && !swapped) {
        // A new instance that never got its data goes away, as a failed provisioning does.
        await engine.remove(instance.container_name);
        await engine.removeVolume(instance.volume_name);
        if (plane) await dropDatabaseAndRole(plane.admin, instance.db_name);
        await deps.instances.setStatus(instance.id, 'failed', `${kind} failed: ${error.message}`.slice(0, 2000));
        return;
      }
      if (op.steps.some((s) => s.name === 'create') && !r.fresh) {
        await deps.instances.setStatus(instance.id, 'failed', `${kind} failed: ${error.message}`.slice(0, 2000));
        return;
      }
      // Back as it was (or restored): running again if it ran before, else stopped.
      const wasRunning = r.wasRunning === true || swapped;
      try {
        if (wasRunning && (await engine.state(instance.container_name))) {
          await engine.start(instance.container_name);
          await deps.instances.setStatus(
            instance.id,
            'running',
            swapped ? null : `${kind} failed; nothing was changed`,
            {
              health: 'starting',
            },
          );
        } else {
          await deps.instances.setStatus(instance.id, 'stopped', null, { started_at: null });
        }
      } catch (startError) {
        await deps.instances.setStatus(instance.id, 'exited', (startError as Error).message.slice(0, 2000));
      }
    },
  };
}

const restoreLoader =
  (deps: BackupJobDeps): Loader =>
  async (plane, target, job) => {
    const backup = await deps.backups.row(job.input.backupId ?? '');
    const role = await roleOf(deps, target);
    await job.remember('loadDir', loadFolder(target.db_name));
    await loadArchive(
      plane,
      {
        db: tempDb(target.db_name),
        role,
        volume: target.volume_name,
        filestoreDir: loadFolder(target.db_name),
        reuseFrom: target.db_name,
      },
      {
        format: backup.format,
        kind: backup.kind,
        path: deps.backups.storage.pathOf(backup),
        onProgress: (fraction) => void job.progress(Math.min(90, fraction * 90)),
        log: (message) => void job.log(message),
      },
    );
    return { db: backup.kind !== 'filestore', files: backup.kind !== 'database' };
  };

const cloneLoader =
  (deps: BackupJobDeps): Loader =>
  async (plane, target, job) => {
    const source = await deps.instances.row(job.input.sourceId ?? '');
    if (source.database_server_id !== target.database_server_id)
      throw new MarinaError('MARINA_E_JOB_FAILED', 'Cloning between two database servers is not supported yet.');
    const role = await roleOf(deps, target);
    await job.log(`pg_dump of ${source.db_name} (a snapshot: its users stay connected), then pg_restore.`);
    await copyDatabase(
      plane,
      { db: source.db_name, role: await roleOf(deps, source) },
      {
        db: tempDb(target.db_name),
        role,
        volume: target.volume_name,
        filestoreDir: loadFolder(target.db_name),
      },
    );
    await job.progress(70);
    if (job.input.filestore !== false) {
      await job.remember('loadDir', loadFolder(target.db_name));
      await copyFilestore(
        plane,
        { volume: source.volume_name, db: source.db_name },
        { volume: target.volume_name, folder: loadFolder(target.db_name) },
      );
    }
    return { db: true, files: job.input.filestore !== false };
  };

const verifyDb = (db: string) => `${db}_verify`;
const verifyFolder = (db: string) => `${db}.verify`;

/**
 * A test restore: the backup's database is loaded into a throwaway database next to the
 * instance's, checked (base installed, modules counted), and dropped. The instance is untouched.
 */
function verifyHandler(deps: BackupJobDeps): JobHandler<{ backupId: string }> {
  return {
    kind: 'backup.verify',
    steps: ['fetch', 'load', 'check', 'cleanup'],
    run: async (job) => {
      const started = Date.now();
      let backup = await deps.backups.row(job.input.backupId);
      const record = async (result: Omit<BackupVerification, 'checkedAt' | 'durationMs'>) =>
        deps.backups.recordVerification(backup.id, {
          ...result,
          checkedAt: deps.clock.now().toISOString(),
          durationMs: Date.now() - started,
        });
      try {
        if (!backup.instance_id) throw new MarinaError('MARINA_E_JOB_FAILED', 'The instance of this backup is gone.');
        const instance = await deps.instances.row(backup.instance_id);
        await job.step('fetch', async () => {
          if (backup.local_status === 'deleted' || (await deps.backups.storage.size(backup)) === undefined) {
            await deps.backups.copies.fetchToLocal(backup, (f) => void job.progress(f * 100));
            backup = await deps.backups.row(backup.id);
          }
          await deps.backups.verifyFile(backup, (f) => void job.progress(f * 100));
        });
        const plane = await planeFor(deps, instance, job.operation.id);
        const db = verifyDb(instance.db_name);
        await job.remember('verifyDb', db);
        await job.remember('verifyInstance', instance.id);
        await job.step('load', async () => {
          await job.remember('scratch', true);
          await createScratch(plane);
          try {
            await dropDatabase(plane.admin, db);
            await createDatabaseFor(plane.admin, db, instance.db_name);
            await loadArchive(
              plane,
              {
                db,
                role: await roleOf(deps, instance),
                volume: instance.volume_name,
                filestoreDir: verifyFolder(instance.db_name),
              },
              {
                format: backup.format,
                kind: 'database',
                path: deps.backups.storage.pathOf(backup),
                onProgress: (f) => void job.progress(f * 100),
                log: (message) => void job.log(message),
              },
            );
          } finally {
            await removeScratch(plane);
          }
        });
        const modules = await job.step('check', async () => {
          const role = await roleOf(deps, instance);
          await checkLoaded(plane, db, role);
          return withClient(asRole(plane, role), db, async (c) => {
            const result = await c.query<{ n: string }>(
              "SELECT count(*)::text AS n FROM ir_module_module WHERE state = 'installed'",
            );
            return Number(result.rows[0]?.n ?? 0);
          });
        });
        await job.step('cleanup', async () => {
          await dropDatabase(plane.admin, db);
          await removeFilestoreFolder(plane, instance.volume_name, verifyFolder(instance.db_name));
        });
        await job.log(`The backup restores: ${modules} installed modules.`);
        await record({ status: 'passed', modules, error: null });
        return { backupId: backup.id, modules };
      } catch (error) {
        await record({ status: 'failed', modules: null, error: (error as Error).message });
        await noticeFailure(deps, backup, 'verification', error);
        throw error;
      }
    },
    recover: async (op) => {
      const instanceId = op.resources.verifyInstance;
      const db = op.resources.verifyDb;
      if (typeof instanceId !== 'string' || typeof db !== 'string') return;
      const instance = await deps.instances.row(instanceId).catch(() => undefined);
      if (!instance) return;
      const plane = await planeFor(deps, instance, op.id).catch(() => undefined);
      if (!plane) return;
      await dropDatabase(plane.admin, db).catch(() => undefined);
      await removeFilestoreFolder(plane, instance.volume_name, verifyFolder(instance.db_name)).catch(() => undefined);
      await removeScratch(plane).catch(() => undefined);
    },
  };
}

/** "Clean up now": each instance's retention, locally and at its destinations. */
function retentionHandler(deps: BackupJobDeps): JobHandler<{ instanceIds: string[] }> {
  return {
    kind: 'backup.retention',
    steps: ['retention'],
    run: async (job) => {
      const schedules = deps.schedules;
      if (!schedules) throw new MarinaError('MARINA_E_INTERNAL', 'Retention is not available.');
      let removed = 0;
      await job.step('retention', async () => {
        const ids = job.input.instanceIds;
        for (const [index, id] of ids.entries()) {
          const result = await schedules.applyRetention(id, (message) => void job.log(message));
          removed += result.removed;
          await job.progress(((index + 1) / Math.max(1, ids.length)) * 100);
        }
      });
      await job.log(`Retention removed ${removed} file(s) or copies.`);
      return { removed };
    },
  };
}

export function registerBackupJobs(runner: JobRunner, deps: BackupJobDeps): void {
  runner.register(backupHandler(deps));
  runner.register(verifyHandler(deps));
  runner.register(retentionHandler(deps));
  runner.register(fillHandler(deps, 'backup.restore', restoreLoader(deps)));
  runner.register(fillHandler(deps, 'instance.clone', cloneLoader(deps)));
}

import { type Static, Type } from 'typebox';
import {
  createDatabaseFor,
  createRole,
  createRoleAndDatabase,
  dropDatabase,
  dropDatabaseAndRole,
} from '../../../adapters/postgres/admin.js';
import type { Instance, OperationError } from '../../../db/schema.js';
import { MarinaError } from '../../../platform/errors.js';
import { defineJob, type FailedJob, type JobContext } from '../../../platform/jobs/define.js';
import { sealedAt } from '../../../platform/secrets/sealed-columns.js';
import { createServerContainer, healthy } from '../../instances/jobs.js';
import { instanceLabels } from '../../instances/odoo-container.js';
import {
  copyDatabase,
  copyFilestore,
  createScratch,
  type DataPlane,
  loadArchive,
  ownDataVolume,
  removeFilestoreFolder,
  removeScratch,
  swapFilestore,
} from '../engine.js';
import { giveOwnIdentity, neutralize, recordCopyUsers, usersOfLoadedCopy } from './copy-identity.js';
import {
  type BackupJobDeps,
  checkLoaded,
  cleanUpPrevious,
  failBackupOf,
  loadFolder,
  planeFor,
  roleOf,
  safetyBackupMemory,
  swapDatabase,
  tempDb,
} from './shared.js';
import { type CloneInput, cloneJob, type FillChoices, type FillStep, type RestoreInput, restoreJob } from './specs.js';
import { bringBack, stopForSwap } from './swap-downtime.js';
import { clearAside, keepReplaced } from './undo-data.js';

/** What a restore or clone made or changed so far: its recovery finishes or undoes it. */
const FillMemory = Type.Object({
  ...safetyBackupMemory,
  wasRunning: Type.Boolean(),
  /** An existing instance was stopped for the swap (it kept serving while its new data loaded). */
  stopped: Type.Boolean(),
  /** A new instance's database and volume were created. */
  fresh: Type.Boolean(),
  tempDb: Type.String(),
  loadDir: Type.String(),
  /** Past "started", the instance's data is being replaced: recovery finishes the swap. */
  swap: Type.Union([Type.Literal('started'), Type.Literal('done')]),
  container: Type.String(),
});

type FillContext<Input> = JobContext<Input, FillStep, Static<typeof FillMemory>>;

/** Where a fill's data comes from: a backup's archive (checked first), or a live instance. */
interface FillSource<Input> {
  /** The "verify" step, for a source that has one. */
  verify?: (job: FillContext<Input>) => Promise<void>;
  /** Whether the load brings a database: a new instance then gets its role only, no empty database. */
  loadsDatabase: (job: FillContext<Input>) => Promise<boolean>;
  /** Loads the data aside, next to the target's own; says whether a database and files came. */
  load: (plane: DataPlane, target: Instance, job: FillContext<Input>) => Promise<{ db: boolean; files: boolean }>;
}

async function logKept(job: { log(message: string): Promise<unknown> }, outcome: 'kept' | 'deleted') {
  await job.log(
    outcome === 'kept'
      ? 'The replaced database and filestore are kept aside as the undo of this job.'
      : 'The replaced database and filestore are deleted (MARINA_RESTORE_UNDO_HOURS is 0).',
  );
}

/**
 * Restore and clone share one path into a target: load beside the live data while Odoo serves,
 * then stop, swap by renaming, start; what was replaced stays aside as the undo.
 */
function fill<Input extends FillChoices>(
  deps: BackupJobDeps,
  kind: 'backup.restore' | 'instance.clone',
  { verify, loadsDatabase, load }: FillSource<Input>,
) {
  return {
    resources: FillMemory,
    run: async (job: FillContext<Input>) => {
      const id = job.operation.target_id ?? '';
      let instance = await deps.instances.row(id);
      const { existing } = job.input;
      let engine = await deps.hosts.reachableRuntime(instance.host_id);

      if (verify) await job.step('verify', () => verify(job));
      if (!existing) {
        await job.step('create', async () => {
          const server = await deps.databaseServers.forInstances(instance.host_id);
          await deps.instances.attachDatabaseServer(id, server.id);
          instance = await deps.instances.row(id);
          await job.remember('fresh', true);
          const password = deps.box.open(instance.db_password, sealedAt('instances', 'db_password', instance.id));
          const connection = await deps.databaseServers.connection(server);
          // The loaded database is renamed into place by the swap.
          if (await loadsDatabase(job)) await createRole(connection, instance.db_name, password);
          else await createRoleAndDatabase(connection, instance.db_name, password);
          engine = await deps.hosts.reachableRuntime(instance.host_id);
          await engine.ensureVolume(instance.volume_name, instanceLabels(deps.namespace, instance));
        });
      }
      const plane = await planeFor(deps, instance, job.operation.id);
      let loaded = { db: false, files: false };
      // When the copy's users were taken: a clone's snapshot starts with its load.
      let copiedAt = deps.clock.now();
      // An existing instance keeps serving while its new data loads beside the live one.
      await job.step('load', async () => {
        if (existing) {
          // A new restore replaces the earlier one's undo (cleared now, while Odoo serves).
          await deps.instances.setUndo(id, null);
          await clearAside(plane, instance, { undo: true });
        }
        copiedAt = deps.clock.now();
        await job.remember('scratch', true);
        await createScratch(plane);
        try {
          await job.remember('tempDb', tempDb(instance.db_name));
          await createDatabaseFor(plane.admin, tempDb(instance.db_name), instance.db_name);
          loaded = await load(plane, instance, job);
          // Loading files makes the new volume's root Odoo's (freshFilestoreFolder, COPY_FILESTORE);
          // without them, a container's second here does, not before the load as it did.
          if (!existing && !loaded.files) await ownDataVolume(plane, instance.volume_name);
          if (loaded.db) {
            await checkLoaded(plane, tempDb(instance.db_name), await roleOf(deps, instance));
            if (job.input.copy) await giveOwnIdentity(deps, plane, instance, tempDb(instance.db_name));
          }
        } finally {
          await removeScratch(plane);
        }
      });
      // Checking the copy's administrator password takes half a second: beside neutralize, not in
      // the swap (downtime when the copy replaces a running instance's data).
      const users =
        job.input.copy && loaded.db
          ? usersOfLoadedCopy(
              deps,
              instance,
              job.input as RestoreInput | CloneInput,
              copiedAt,
              tempDb(instance.db_name),
            )
          : undefined;
      users?.catch(() => undefined);
      if (job.input.neutralize) {
        const db = loaded.db ? tempDb(instance.db_name) : instance.db_name;
        await job.step('neutralize', () => neutralize(deps, engine, instance, job, db));
      }
      // Downtime starts here: stop, swap by renaming, start.
      if (existing) {
        await job.step('stop', async () => {
          instance = await stopForSwap(deps, engine, job, instance, 'stopped to swap in the new data');
        });
      }
      await job.step('swap', async () => {
        await job.remember('swap', 'started');
        // Independent renames, side by side: this is downtime.
        await Promise.all([
          loaded.db ? swapDatabase(plane, instance.db_name) : dropDatabase(plane.admin, tempDb(instance.db_name)),
          loaded.files
            ? swapFilestore(plane, instance.volume_name, instance.db_name, loadFolder(instance.db_name))
            : removeFilestoreFolder(plane, instance.volume_name, loadFolder(instance.db_name)),
        ]);
        await job.remember('swap', 'done');
        if (users) await recordCopyUsers(deps, instance, await users, job);
      });
      await job.step('start', async () => {
        instance = await deps.instances.setStatus(id, 'starting', null);
        // A new instance (a staging copy) gets its project's repositories before Odoo starts.
        if (!existing && deps.prepareAddons) await deps.prepareAddons(job, instance);
        // The copy's outgoing mail is the instance's setting (a neutralized staging copy: the catcher).
        await deps.databaseReady?.(job, instance);
        if (!(await engine.state(instance.container_name))) {
          await job.remember('container', instance.container_name);
          const containerId = await createServerContainer(deps, engine, instance);
          instance = await deps.instances.setStatus(id, 'starting', null, { container_id: containerId });
        }
        await engine.start(instance.container_name);
      });
      await job.step('health', () => healthy(deps, engine, instance));
      // A new instance had no database or files of its own before the swap: nothing was put aside.
      if (!existing) await job.skip('cleanup', 'a new instance replaced nothing');
      else
        await job.step('cleanup', async () => {
          // The instance is restored and running: a leftover must not turn that into a failure.
          // The next restore's swap, or this job's recovery, deletes what stays.
          try {
            await logKept(job, await keepReplaced(deps, plane, instance, job.operation.id));
          } catch (error) {
            await job.log(
              `Could not put the replaced database and filestore aside yet: ${(error as Error).message}`,
              'warn',
            );
          }
        });
      // The instance's storage changed: measured again (never worth failing the restore for).
      await deps.completed?.restore(id).catch(() => undefined);
      return { instanceId: id, url: deps.instances.url(instance) };
    },
    recover: async (
      { operation, input, resources: r }: FailedJob<Input, Static<typeof FillMemory>>,
      error: OperationError,
    ) => {
      await failBackupOf(deps, r);
      const instance = await deps.instances.row(operation.target_id ?? '').catch(() => undefined);
      if (!instance) return;
      const engine = await deps.hosts.reachableRuntime(instance.host_id);
      const plane = instance.database_server_id ? await planeFor(deps, instance, operation.id) : undefined;
      if (plane) {
        await removeScratch(plane);
        if (r.swap === 'started' || r.swap === 'done') {
          // Past the point of no return: finish the swap, so the instance is restored, not half.
          await swapDatabase(plane, instance.db_name);
          await swapFilestore(plane, instance.volume_name, instance.db_name, loadFolder(instance.db_name));
          if (input.existing) await keepReplaced(deps, plane, instance, operation.id);
          else await cleanUpPrevious(plane, instance);
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
      if (!input.existing && !r.fresh) {
        await deps.instances.setStatus(instance.id, 'failed', `${kind} failed: ${error.message}`.slice(0, 2000));
        return;
      }
      // Failed before it was stopped: the instance served all along and nothing of it changed.
      if (input.existing && !r.stopped && !swapped) return;
      // Back as it was (or restored).
      await bringBack(deps, engine, instance, {
        wasRunning: r.wasRunning === true,
        swapped,
        failure: `${kind} failed; nothing was changed`,
      });
    },
  };
}

/** A restore checks the backup's file first, fetching it from an offsite copy when it is gone here. */
const backupSource = (deps: BackupJobDeps): FillSource<RestoreInput> => ({
  loadsDatabase: async (job) => (await deps.backups.row(job.input.backupId)).kind !== 'filestore',
  verify: async (job) => {
    let backup = await deps.backups.row(job.input.backupId);
    if (backup.local_status === 'deleted' || (await deps.backups.storage.size(backup)) === undefined) {
      await job.log('The local file is gone: fetching the backup from its offsite copy.');
      await deps.backups.copies.fetchToLocal(backup, (fraction) => void job.progress(fraction * 50));
      backup = await deps.backups.row(backup.id);
    }
    await deps.backups.verifyFile(backup, (fraction) => void job.progress(fraction * 100));
    await job.log(`The backup file verifies (sha256 ${backup.sha256}).`);
  },
  load: async (plane, target, job) => {
    const backup = await deps.backups.row(job.input.backupId);
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
  },
});

/** A clone copies a live instance's database (a snapshot) and, unless asked not to, its filestore. */
const instanceSource = (deps: BackupJobDeps): FillSource<CloneInput> => ({
  loadsDatabase: async () => true,
  load: async (plane, target, job) => {
    const source = await deps.instances.row(job.input.sourceId);
    if (source.database_server_id !== target.database_server_id)
      throw new MarinaError('MARINA_E_JOB_FAILED', 'Cloning between two database servers is not supported yet.');
    const role = await roleOf(deps, target);
    await job.log(
      `pg_dump of ${source.db_name} (a snapshot: its users stay connected), then pg_restore${job.input.filestore ? '; the filestore is copied beside them' : ''}.`,
    );
    if (job.input.filestore) await job.remember('loadDir', loadFolder(target.db_name));
    const database = copyDatabase(
      plane,
      { db: source.db_name, role: await roleOf(deps, source) },
      {
        db: tempDb(target.db_name),
        role,
        volume: target.volume_name,
        filestoreDir: loadFolder(target.db_name),
      },
    ).then(() => job.progress(70));
    // The copy reads files while pg_dump and pg_restore work the database: it waits for neither.
    const files = job.input.filestore
      ? copyFilestore(
          plane,
          { volume: source.volume_name, db: source.db_name },
          { volume: target.volume_name, folder: loadFolder(target.db_name) },
        )
      : Promise.resolve();
    // Both end before either failure is reported: nothing keeps writing after the job.
    const [copied, filesCopied] = await Promise.allSettled([database, files]);
    if (copied.status === 'rejected') throw copied.reason;
    if (filesCopied.status === 'rejected') throw filesCopied.reason;
    return { db: true, files: job.input.filestore };
  },
});

export const restoreHandler = (deps: BackupJobDeps) =>
  defineJob({ ...restoreJob, ...fill(deps, 'backup.restore', backupSource(deps)) });

export const cloneHandler = (deps: BackupJobDeps) =>
  defineJob({ ...cloneJob, ...fill(deps, 'instance.clone', instanceSource(deps)) });

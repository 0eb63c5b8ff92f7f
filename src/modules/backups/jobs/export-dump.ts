import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Type } from 'typebox';
import { PARTIAL_SUFFIX } from '../../../adapters/archive/backup-file.js';
import { createDatabaseFor, dropDatabase } from '../../../adapters/postgres/admin.js';
import { MarinaError } from '../../../platform/errors.js';
import { defineJob } from '../../../platform/jobs/define.js';
import { checked, toolFailure, toolSpec } from '../data-plane.js';
import { createScratch, loadArchive, removeFilestoreFolder, removeScratch } from '../engine.js';
import { type BackupJobDeps, checkLoaded, fetchVerified, planeFor, roleOf } from './shared.js';
import { exportDumpJob } from './specs.js';

/** Per backup, so that two backups of one instance can be prepared at once. */
const shortId = (backupId: string) => backupId.replace(/-/g, '').slice(0, 8);
const exportDb = (db: string, backupId: string) => `${db}_dump${shortId(backupId)}`;
const exportFolder = (db: string, backupId: string) => `${db}.dump${shortId(backupId)}`;

/**
 * Prepares a backup as a PostgreSQL custom-format .dump (database only, as Odoo's database manager
 * offers it): loaded into a throwaway database exactly as a test restore does, dumped with
 * `pg_dump --format=custom --no-owner` as that database's own role (never the superuser), written
 * beside the backup under a partial name and renamed once whole, then the database is dropped.
 */
export function exportDumpHandler(deps: BackupJobDeps) {
  return defineJob({
    ...exportDumpJob,
    /** The throwaway database, its instance and the partial file, taken away if the job is interrupted. */
    resources: Type.Object({
      exportDb: Type.String(),
      exportInstance: Type.String(),
      exportFolder: Type.String(),
      partial: Type.String(),
      scratch: Type.Boolean(),
    }),
    run: async (job) => {
      let backup = await deps.backups.row(job.input.backupId);
      if (backup.status !== 'completed' || backup.kind === 'filestore')
        throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'Only a completed backup with a database has a .dump.');
      if (!backup.instance_id) throw new MarinaError('MARINA_E_JOB_FAILED', 'The instance of this backup is gone.');
      const instance = await deps.instances.row(backup.instance_id);
      await job.step('fetch', async () => {
        backup = await fetchVerified(deps, job, backup);
      });
      const plane = await planeFor(deps, instance, job.operation.id);
      const db = exportDb(instance.db_name, backup.id);
      const folder = exportFolder(instance.db_name, backup.id);
      const target = deps.backups.storage.dumpPathOf(backup);
      await job.remember('exportDb', db);
      await job.remember('exportInstance', instance.id);
      await job.remember('exportFolder', folder);
      await job.remember('partial', target + PARTIAL_SUFFIX);
      const role = await roleOf(deps, instance);
      await job.step('load', async () => {
        await job.remember('scratch', true);
        await createScratch(plane);
        try {
          await dropDatabase(plane.admin, db);
          await createDatabaseFor(plane.admin, db, instance.db_name);
          await loadArchive(
            plane,
            { db, role, volume: instance.volume_name, filestoreDir: folder },
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
        await checkLoaded(plane, db, role);
      });
      await job.step('dump', async () => {
        await rm(target + PARTIAL_SUFFIX, { force: true });
        const file = createWriteStream(target + PARTIAL_SUFFIX, { flags: 'wx', mode: 0o600, flush: true });
        const result = await plane.runtime.runStreaming(
          toolSpec(plane, 'dump', ['pg_dump', '--format=custom', '--no-owner', '--dbname', checked(db)], role),
          file,
        );
        if (result.exitCode !== 0) {
          await rm(target + PARTIAL_SUFFIX, { force: true });
          throw toolFailure('pg_dump', result);
        }
        // Only a whole dump gets the name the download looks for.
        await rename(target + PARTIAL_SUFFIX, target);
      });
      await job.step('cleanup', async () => {
        await dropDatabase(plane.admin, db);
        await removeFilestoreFolder(plane, instance.volume_name, folder);
      });
      await job.log('The .dump is ready to download.');
      return { backupId: backup.id };
    },
    recover: async ({ operation, resources }) => {
      if (resources.partial !== undefined) await rm(resources.partial, { force: true }).catch(() => undefined);
      const { exportInstance: instanceId, exportDb: db, exportFolder: folder } = resources;
      if (instanceId === undefined || db === undefined) return;
      const instance = await deps.instances.row(instanceId).catch(() => undefined);
      if (!instance) return;
      const plane = await planeFor(deps, instance, operation.id).catch(() => undefined);
      if (!plane) return;
      await dropDatabase(plane.admin, db).catch(() => undefined);
      if (folder !== undefined) await removeFilestoreFolder(plane, instance.volume_name, folder).catch(() => undefined);
      await removeScratch(plane).catch(() => undefined);
    },
  });
}

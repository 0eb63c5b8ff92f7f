import { Type } from 'typebox';
import { createDatabaseFor, dropDatabase, withClient } from '../../../adapters/postgres/admin.js';
import type { BackupVerification } from '../../../db/schema.js';
import { MarinaError } from '../../../platform/errors.js';
import { defineJob } from '../../../platform/jobs/define.js';
import { asRole, createScratch, loadArchive, removeFilestoreFolder, removeScratch } from '../engine.js';
import { type BackupJobDeps, checkLoaded, fetchVerified, noticeFailure, planeFor, roleOf } from './shared.js';
import { verifyBackupJob } from './specs.js';

const verifyDb = (db: string) => `${db}_verify`;
const verifyFolder = (db: string) => `${db}.verify`;

/**
 * A test restore: the backup's database is loaded into a throwaway database next to the
 * instance's, checked (base installed, modules counted), and dropped. The instance is untouched.
 */
export function verifyHandler(deps: BackupJobDeps) {
  return defineJob({
    ...verifyBackupJob,
    /** The throwaway database and the instance it sits next to, dropped if the job is interrupted. */
    resources: Type.Object({ verifyDb: Type.String(), verifyInstance: Type.String(), scratch: Type.Boolean() }),
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
          backup = await fetchVerified(deps, job, backup);
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
    recover: async ({ operation, resources }) => {
      const { verifyInstance: instanceId, verifyDb: db } = resources;
      if (instanceId === undefined || db === undefined) return;
      const instance = await deps.instances.row(instanceId).catch(() => undefined);
      if (!instance) return;
      const plane = await planeFor(deps, instance, operation.id).catch(() => undefined);
      if (!plane) return;
      await dropDatabase(plane.admin, db).catch(() => undefined);
      await removeFilestoreFolder(plane, instance.volume_name, verifyFolder(instance.db_name)).catch(() => undefined);
      await removeScratch(plane).catch(() => undefined);
    },
  });
}

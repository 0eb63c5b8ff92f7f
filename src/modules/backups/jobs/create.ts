import { Type } from 'typebox';
import { MarinaError } from '../../../platform/errors.js';
import { defineJob, JobCancelled, type JobContextOf } from '../../../platform/jobs/define.js';
import type { DataPlane } from '../engine.js';
import {
  type BackupJobDeps,
  cleanupPlane,
  failBackupOf,
  noticeFailure,
  planeFor,
  writeBackup,
  writtenBackupMemory,
} from './shared.js';
import { createBackupJob } from './specs.js';

/** What a backup job records: its backup and scratch area, undone when it is interrupted. */
const CreateMemory = Type.Object(writtenBackupMemory);

export function backupHandler(deps: BackupJobDeps) {
  return defineJob({
    ...createBackupJob,
    resources: CreateMemory,
    run: async (job) => {
      try {
        return await runBackup(deps, job);
      } catch (error) {
        const backup = await deps.backups.row(job.input.backupId).catch(() => undefined);
        const copyFailed =
          (error instanceof MarinaError && error.code === 'MARINA_E_COPY_FAILED') || error instanceof JobCancelled;
        // A failed copy was told about as it failed, naming its destination.
        if (backup && !copyFailed) await noticeFailure(deps, backup, 'backup', error);
        throw error;
      }
    },
    recover: async ({ operation, input, resources }, error) => {
      // Cancelled while queued, nothing was remembered yet: the pending record is the input's.
      const id = resources.backup ?? (error.code === 'MARINA_E_CANCELLED' ? input.backupId : undefined);
      await failBackupOf(deps, { backup: id });
      await cleanupPlane(deps, operation);
      // Its storage was being measured beside the write: Marina stopped under those one-offs too.
      if (error.code === 'MARINA_E_INTERRUPTED' && operation.target_id)
        await deps.completed?.interrupted(operation.target_id);
      if (id !== undefined) {
        await deps.backups.copies.failUnfinished(
          id,
          error.code === 'MARINA_E_CANCELLED'
            ? `The upload was cancelled (${error.message})`
            : 'Marina stopped or the job failed during this upload.',
        );
        // Interrupted (a crash, a restart): nobody saw it fail, so say so like any failure.
        if (error.code === 'MARINA_E_INTERRUPTED') {
          const backup = await deps.backups.row(id).catch(() => undefined);
          if (backup) await noticeFailure(deps, backup, 'backup', new Error(error.message));
        }
      }
    },
  });
}

async function runBackup(deps: BackupJobDeps, job: JobContextOf<typeof createBackupJob, typeof CreateMemory>) {
  let backup = await deps.backups.row(job.input.backupId);
  const instance = await deps.instances.row(job.operation.target_id ?? '');
  let plane: DataPlane | undefined;
  await job.step('prepare', async () => {
    plane = await planeFor(deps, instance, job.operation.id);
  });
  // A backup reads what the storage figures count and changes none of it: the instance is measured
  // beside the write (a second of one-off containers and queries), not after it.
  let measured: Promise<void> | undefined;
  try {
    await job.step('write', async () => {
      measured = deps.completed?.backup(instance.id).catch(() => undefined);
      backup = await writeBackup(deps, job, plane as DataPlane, instance, backup);
    });
    await job.step('finish', async () => {
      // The file was synced to disk before it got its name; its sha256 is of the very bytes written.
      // Reading it back would read the page cache, not the disk, so the size is what is checked here;
      // every restore checks the sha256 before it reads.
      const size = await deps.backups.storage.size(backup);
      if (size !== Number(backup.size_bytes)) {
        await deps.backups.markFailed(
          backup.id,
          `The file on disk has ${size ?? 'no'} bytes, not the ${backup.size_bytes} written.`,
          { evenIfCompleted: true },
        );
        throw new MarinaError('MARINA_E_BACKUP_CORRUPT', 'The backup file does not verify: its size differs.');
      }
    });
    const destinationIds = job.input.destinationIds;
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
              wait: (ms, reason) => job.wait(ms, reason),
            });
          } catch (error) {
            // Cancelled while waiting to retry: the other destinations are not tried either.
            if (error instanceof JobCancelled) throw error;
            // The other destinations still get their copy; the step fails once all were tried.
            copyError ??= error;
            await noticeFailure(deps, done, 'upload', error, destination.name);
          }
        }
        if (copyError) {
          // The failing step is the upload, and it shows ✗. Retention waits for a run whose copies
          // all landed: older backups and copies are not removed while the newest copy is missing.
          if (job.input.retention)
            await job.skip('retention', 'a copy failed: nothing is removed until copies succeed');
          throw copyError;
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
    return { backupId: backup.id, sizeBytes: Number(backup.size_bytes), sha256: backup.sha256 };
  } finally {
    // Nothing keeps running after the job, even when it failed; what was measured is not worth
    // failing the backup for (its errors were caught).
    await measured;
  }
}

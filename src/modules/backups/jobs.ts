import type { JobRunner } from '../../platform/jobs/runner.js';
import { backupHandler } from './jobs/create.js';
import { exportDumpHandler } from './jobs/export-dump.js';
import { cloneHandler, restoreHandler } from './jobs/fill.js';
import { moveHandler } from './jobs/move.js';
import { retentionHandler } from './jobs/retention.js';
import type { BackupJobDeps } from './jobs/shared.js';
import { expireUndoHandler, undoRestoreHandler } from './jobs/undo.js';
import { verifyHandler } from './jobs/verify.js';

export {
  type BackupJobDeps,
  noticeFailure,
  restoreDatabaseInPlace,
  safetyBackup,
  safetyBackupMemory,
} from './jobs/shared.js';

/** The backups module's jobs: write a backup, test-restore it, apply retention, restore, clone. */
export function registerBackupJobs(runner: JobRunner, deps: BackupJobDeps): void {
  runner.register(backupHandler(deps));
  runner.register(verifyHandler(deps));
  runner.register(exportDumpHandler(deps));
  runner.register(retentionHandler(deps));
  runner.register(restoreHandler(deps));
  runner.register(cloneHandler(deps));
  runner.register(moveHandler(deps));
  runner.register(undoRestoreHandler(deps));
  runner.register(expireUndoHandler(deps));
}

import {
  cloneJob,
  createBackupJob,
  expireUndoJob,
  exportDumpJob,
  moveJob,
  restoreJob,
  retentionJob,
  undoRestoreJob,
  verifyBackupJob,
} from '../modules/backups/jobs/specs.js';
import { modulesJob, reconfigureJob, repositoryUpdateJob } from '../modules/code/job-specs.js';
import { deleteJob, provisionJob, restartJob, startJob, stopJob } from '../modules/instances/job-specs.js';
import { resizeJob } from '../modules/instances/resize.js';
import { copyRetryJob } from '../modules/offsite/copy-job.js';

/** Every job Marina queues. The runner refuses to start unless each has exactly one definition. */
export const jobSpecs = [
  provisionJob,
  startJob,
  stopJob,
  restartJob,
  deleteJob,
  resizeJob,
  createBackupJob,
  verifyBackupJob,
  exportDumpJob,
  retentionJob,
  restoreJob,
  cloneJob,
  moveJob,
  undoRestoreJob,
  expireUndoJob,
  copyRetryJob,
  repositoryUpdateJob,
  reconfigureJob,
  modulesJob,
] as const;

export type JobKind = (typeof jobSpecs)[number]['kind'];

export const jobKinds: readonly JobKind[] = jobSpecs.map((spec) => spec.kind);

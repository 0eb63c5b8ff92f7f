import type { BackupJobDeps } from './jobs.js';

/** What the backups module asks of the modules wired after it. */
export type BackupHooks = {
  /** Retention of an instance's scheduled backups (offsite: locally and at each destination). */
  applyRetention: NonNullable<BackupJobDeps['schedules']>['applyRetention'];
  /** A backup of the instance is being written (the plans measure its storage again, beside it). */
  backupCompleted: (instanceId: string) => Promise<void>;
  /** A backup of the instance was interrupted (the plans remove what that measurement left). */
  backupInterrupted: (instanceId: string) => Promise<void>;
  /** A restore or clone into the instance completed (the plans measure its storage again). */
  restoreCompleted: (instanceId: string) => Promise<void>;
};

import type { BackupStatus, CopyStatus } from '../../db/schema.js';

/**
 * One state per backup run, derived from its parts: the local backup and its offsite copies. The
 * only place that decides it — the API, the schedule card, the history and the counts all read it.
 * - failed: the backup itself failed (there is nothing to restore from this run);
 * - partial: the backup is good but one or more of its copies failed (even while others upload);
 * - running / pending: the backup, or one of its copies, is still underway;
 * - completed: the backup and every copy it was meant to get are done and verified.
 */
export type RunState = 'pending' | 'running' | 'completed' | 'partial' | 'failed';

export const runStates = ['pending', 'running', 'completed', 'partial', 'failed'] as const;

/** A run needing attention: the history's "problems" and the pages' failure counts. */
export const isProblem = (state: RunState): boolean => state === 'failed' || state === 'partial';

export function runStateOf(status: BackupStatus, copies: readonly { status: CopyStatus }[]): RunState {
  if (status !== 'completed') return status;
  // A failed copy makes the run partial even while another copy is still uploading.
  if (copies.some((c) => c.status === 'failed')) return 'partial';
  if (copies.some((c) => c.status === 'pending' || c.status === 'uploading')) return 'running';
  return 'completed';
}

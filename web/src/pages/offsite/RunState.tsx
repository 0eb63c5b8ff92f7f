import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { queryKeys } from '../../api/queries';
import type { Backup, Job } from '../../api/types';
import type { BadgeTone } from '../../components/Badge';
import { useToast } from '../../components/Toast';

export type RunState = Backup['runState'];

const tones: Record<RunState, BadgeTone> = {
  completed: 'green',
  partial: 'amber',
  failed: 'red',
  running: 'blue',
  pending: 'gray',
};

const words: Record<RunState, string> = {
  completed: 'completed',
  partial: 'partial',
  failed: 'failed',
  running: 'running',
  pending: 'pending',
};

/**
 * A run's one state, as the server derives it from the backup and its copies: "partial" when the
 * backup is good but a copy failed. Every page shows this, never the backup's status alone.
 */
export function RunStateBadge({ state, title }: { state: RunState; title?: string | null }) {
  const moving = state === 'pending' || state === 'running';
  return (
    <span
      className={`badge badge-${tones[state]} status-badge${moving ? ' status-transitional' : ''}`}
      title={title ?? undefined}
      data-testid="run-state"
      data-state={state}
    >
      <span className="status-dot" aria-hidden="true" />
      {words[state]}
    </span>
  );
}

/** "Retry copy": uploads the backup again to the destinations whose copy failed, and only those. */
export function RetryCopyButton({ backupId, onStarted }: { backupId: string; onStarted?(job: Job): void }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  async function retry() {
    setBusy(true);
    try {
      const { job } = await call(api.POST('/api/v1/backups/{id}/retry-copies', { params: { path: { id: backupId } } }));
      toast.success('The failed copy is being uploaded again.');
      void queryClient.invalidateQueries({ queryKey: queryKeys.backupRuns.all });
      void queryClient.invalidateQueries({ queryKey: queryKeys.backups.all });
      void queryClient.invalidateQueries({ queryKey: queryKeys.schedules.all });
      onStarted?.(job);
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" className="btn btn-secondary btn-small" onClick={() => void retry()} disabled={busy}>
      {busy ? 'Retrying…' : 'Retry copy'}
    </button>
  );
}

import { useState } from 'react';
import { api, call } from '../../api/client';
import type { Job } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { SweepIcon } from '../../components/icons';
import { JobProgress } from '../../components/JobProgress';

/**
 * "Clean up now": applies retention at once — for one instance, or (platform admins, no instance)
 * for every instance with a schedule. The button, its confirmation and the job's progress card.
 */
export function useCleanup({
  instanceId,
  label,
  onEnded,
}: {
  instanceId?: string;
  /** What is cleaned, for the dialog: "main" or "every instance". */
  label: string;
  onEnded?(job: Job): void;
}) {
  const [asking, setAsking] = useState(false);
  const [job, setJob] = useState<Job | null>(null);

  const button = (
    <button
      type="button"
      className="btn btn-secondary"
      onClick={() => setAsking(true)}
      title="Apply the retention policies now instead of after the next scheduled backup"
    >
      <SweepIcon />
      Clean up now
    </button>
  );

  const dialog = asking ? (
    <ConfirmDialog
      title="Clean up backups now?"
      confirmLabel="Clean up now"
      onClose={() => setAsking(false)}
      onConfirm={async () => {
        const answer = await call(api.POST('/api/v1/retention/run', { body: instanceId ? { instanceId } : {} }));
        setJob(answer.job);
      }}
    >
      <p>
        Marina applies the retention policies of {label} now: scheduled backups and offsite copies beyond what the
        policies keep are deleted. Pinned backups, manual backups and safety backups are never touched.
      </p>
    </ConfirmDialog>
  ) : null;

  const progress = job ? (
    <JobProgress
      key={job.id}
      job={job}
      title="Clean up backups"
      onEnded={onEnded}
      onDismiss={() => setJob(null)}
      label="Clean-up progress"
    />
  ) : null;

  return { button, dialog, progress };
}

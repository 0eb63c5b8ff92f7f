import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link } from 'react-router-dom';
import { holdingQuery } from '../api/job-control';
import type { Job } from '../api/types';
import { jobKindLabel, stepLabel } from '../operate';
import { JobControls, waitingText } from './JobParts';
import '../styles/job-control.css';

/** While a job holds the instance, asks again this often: a backup frees it once its file is written. */
const HELD_REFRESH_MS = 2000;

/** The jobs holding an instance now (undefined until known), kept current while any does. */
export function useInstanceHolds(instanceId: string, followed: Job | null): Job[] | undefined {
  const client = useQueryClient();
  const holds = useQuery({
    ...holdingQuery(instanceId),
    refetchInterval: (query) => ((query.state.data?.jobs.length ?? 0) > 0 ? HELD_REFRESH_MS : false),
  });
  const key = holdingQuery(instanceId).queryKey;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a job started, moved on or ended here.
  useEffect(() => {
    void client.invalidateQueries({ queryKey: key });
  }, [followed?.id, followed?.status, followed?.step]);
  return holds.data?.jobs;
}

/** "Back up of erp/main (Writing the backup)": what a holding job is doing, in words. */
export function holdingJobText(job: Job): string {
  const what = `${jobKindLabel(job.kind)}${job.target?.label ? ` of ${job.target.label}` : ''}`;
  if (job.status === 'queued') return `${what} is queued`;
  return `${what} is running${job.step ? ` (${stepLabel(job.step, job.kind).toLowerCase()})` : ''}`;
}

/** The title of a button disabled by a job: why, in one line. */
export function heldTitle(holds: Job[] | undefined): string | undefined {
  const first = holds?.[0];
  return first ? `Disabled: ${holdingJobText(first)} — job ${first.id.slice(0, 8)}` : undefined;
}

/**
 * Why the instance's actions are disabled: which job holds it, with a link to it, and Cancel
 * where that job can be cancelled now.
 */
export function InstanceHoldReason({
  holds,
  status,
  actions,
}: {
  holds: Job[] | undefined;
  /** The instance's status: provisioning, deleting and restoring hold it too. */
  status: string;
  /** What is disabled, as the buttons say it ("Start, Stop, Restart and Delete"). */
  actions: string;
}) {
  if (!holds || holds.length === 0) {
    if (!['provisioning', 'deleting', 'restoring'].includes(status)) return null;
    return (
      <p className="hold-reason" role="status" data-testid="hold-reason">
        {actions} are disabled while the instance is {status}.
      </p>
    );
  }
  return (
    <div className="hold-reason" role="status" data-testid="hold-reason">
      {holds.map((job) => {
        const waiting = waitingText(job);
        return (
          <p key={job.id} className="hold-reason-line">
            <span>
              <strong>{actions} are disabled:</strong> {holdingJobText(job)} —{' '}
              <Link to={`/jobs/${job.id}`} className="mono">
                job {job.id.slice(0, 8)}
              </Link>
              .{waiting ? <span className="muted"> {waiting}.</span> : null}
            </span>
            <JobControls job={job} small />
          </p>
        );
      })}
    </div>
  );
}

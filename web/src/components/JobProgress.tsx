import { type ReactNode, useEffect, useRef } from 'react';
import { Link } from 'react-router-dom';
import type { Job } from '../api/types';
import { useJobStream } from '../live';
import { isJobFinished, jobKindLabel, stepLabel } from '../operate';
import { CheckIcon } from './icons';
import { JobControls, JobError, JobLog, JobSteps, waitingText } from './JobParts';
import { ProgressBar } from './ProgressBar';

function jobState(job: Job): string {
  if (job.status === 'failed') return 'failed';
  if (job.status === 'cancelled') return 'cancelled';
  if (job.status === 'succeeded') return 'done';
  if (job.status === 'queued') return 'waiting for a free slot…';
  const waiting = waitingText(job);
  if (waiting) return waiting.charAt(0).toLowerCase() + waiting.slice(1);
  return job.step ? `${stepLabel(job.step, job.kind)}…` : 'starting…';
}

export function progressTone(job: Pick<Job, 'status'>): 'brand' | 'green' | 'red' | 'amber' {
  if (job.status === 'succeeded') return 'green';
  if (job.status === 'failed') return 'red';
  if (job.status === 'cancelled') return 'amber';
  return 'brand';
}

/** Calls `onEnded` once, when the job is over. */
function useOnEnded(job: Job, ended: boolean, onEnded: ((job: Job) => void) | undefined): boolean {
  const reported = useRef(false);
  const endedRef = useRef(onEnded);
  endedRef.current = onEnded;
  const over = ended || isJobFinished(job.status);
  useEffect(() => {
    if (over && !reported.current) {
      reported.current = true;
      endedRef.current?.(job);
    }
  }, [over, job]);
  return over;
}

/**
 * Follows a job live (its server-sent events) as a card with a progress bar: the job a button
 * just started. `detailed` adds its steps and, once it failed, its log.
 */
export function JobProgress({
  job: started,
  onEnded,
  title,
  extra,
  onDismiss,
  detailed,
  label = 'Action progress',
}: {
  job: Job;
  onEnded?(job: Job): void;
  title?: ReactNode;
  /** Links shown under the bar (e.g. to the instance the job fills). */
  extra?: ReactNode;
  onDismiss?(): void;
  detailed?: boolean;
  label?: string;
}) {
  const { job: streamed, ended, logs } = useJobStream(started.id, { job: started });
  const job = streamed ?? started;
  const over = useOnEnded(job, ended, onEnded);
  const failed = job.status === 'failed' || job.status === 'cancelled';

  return (
    <section
      className={`card card-body inline-job inline-job-${job.status}`}
      aria-label={`${jobKindLabel(job.kind)} job`}
      data-testid="inline-job"
      data-job-kind={job.kind}
      data-job-id={job.id}
      data-job-status={job.status}
    >
      <div className="job-progress-head">
        <strong>
          {job.status === 'succeeded' ? <CheckIcon className="inline-job-done" width={16} height={16} /> : null}
          {title ?? jobKindLabel(job.kind)}
          {' — '}
          <span className="muted">{jobState(job)}</span>
        </strong>
        <span className="inline-job-side tabular">
          {job.progress} % · <Link to={`/jobs/${job.id}`}>Details</Link>
          {onDismiss && over ? (
            <button type="button" className="icon-button" aria-label="Dismiss" onClick={onDismiss}>
              ×
            </button>
          ) : null}
        </span>
      </div>
      <ProgressBar
        value={job.progress}
        label={label}
        tone={progressTone(job)}
        size={detailed ? 'large' : 'small'}
        active={!over}
        testId="action-progress"
      />
      {extra ? <div className="inline-job-extra">{extra}</div> : null}
      {/* Cancel while it waits to retry an upload; the card follows the job to its end. */}
      {!over && job.can.cancel ? <JobControls job={job} small /> : null}
      {failed ? <JobError job={job} link /> : null}
      {detailed ? <JobSteps job={job} timing /> : null}
      {detailed && failed ? <JobLog logs={logs} open /> : null}
    </section>
  );
}

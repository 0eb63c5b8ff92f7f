import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { cancelJob, invalidateJobs, retryJob } from '../api/job-control';
import type { Job, JobLogLine } from '../api/types';
import { formatTime } from '../format';
import { formatDuration, jobKindLabel, stepLabel } from '../operate';
import { AlertIcon, CheckIcon } from './icons';

type Step = Job['steps'][number];

function StepIcon({ status }: { status: Step['status'] }) {
  if (status === 'done') return <CheckIcon width={14} height={14} />;
  if (status === 'failed') return <AlertIcon width={14} height={14} />;
  if (status === 'running') return <span className="spinner spinner-small" />;
  if (status === 'skipped') return <span className="step-skip">–</span>;
  return null;
}

/** How long a finished step took; a running one shows its spinner (the browser's clock may differ from the server's). */
function stepTiming(step: Step): string | null {
  if (!step.startedAt || !step.finishedAt) return null;
  const seconds = (new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime()) / 1000;
  return seconds < 1 ? '< 1s' : formatDuration(seconds);
}

/** The job's steps in order, each with its state and, when asked, how long it took. */
export function JobSteps({ job, timing }: { job: Job; timing?: boolean }) {
  return (
    <ol className="job-steps" aria-label="Steps">
      {job.steps.map((step) => {
        const time = timing ? stepTiming(step) : null;
        return (
          <li
            key={step.name}
            className={`job-step job-step-${step.status}`}
            data-step={step.name}
            data-status={step.status}
          >
            <span className="job-step-icon" aria-hidden="true">
              <StepIcon status={step.status} />
            </span>
            <span className="job-step-label">{stepLabel(step.name, job.kind)}</span>
            <span className="visually-hidden">: {step.status}</span>
            {time ? <span className="job-step-time muted">{time}</span> : null}
          </li>
        );
      })}
    </ol>
  );
}

/** What went wrong, with the failed step and the message's own line breaks. */
export function JobError({ job, link }: { job: Job; link?: boolean }) {
  if (!job.error) return null;
  const cancelled = job.status === 'cancelled';
  return (
    <div className={`alert ${cancelled ? 'alert-warning' : 'alert-error'} job-error`} role="alert">
      <span className="alert-icon">
        <AlertIcon />
      </span>
      <div className="alert-content">
        <strong className="alert-title">
          {cancelled
            ? `${jobKindLabel(job.kind)} was cancelled${job.error.step ? ` at “${stepLabel(job.error.step, job.kind)}”` : ''}`
            : job.error.step
              ? `${jobKindLabel(job.kind)} failed at “${stepLabel(job.error.step, job.kind)}”`
              : `${jobKindLabel(job.kind)} failed`}
        </strong>
        <pre className="job-error-message">{job.error.message}</pre>
        <p className="job-error-code mono">{job.error.code}</p>
        {link ? (
          <p>
            <Link to={`/jobs/${job.id}`}>Open the job and its full log</Link>
          </p>
        ) : null}
      </div>
    </div>
  );
}

/** The log as it grows, kept scrolled to the newest line. */
export function JobLog({ logs, open, title = 'Live log' }: { logs: JobLogLine[]; open?: boolean; title?: string }) {
  const box = useRef<HTMLPreElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new line is what should scroll.
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [logs.length]);
  return (
    <details className="job-log" open={open}>
      <summary>
        {title} <span className="muted">({logs.length} lines)</span>
      </summary>
      <pre ref={box} className="job-log-lines" data-testid="job-log">
        {logs.length === 0 ? <span className="muted">Nothing logged yet.</span> : null}
        {logs.map((line) => (
          <div key={line.id} className={`log-line log-${line.level}`}>
            <span className="log-time">{formatTime(line.at)}</span>
            <span className="log-level">{line.level}</span>
            <span className="log-message">{line.message}</span>
          </div>
        ))}
      </pre>
    </details>
  );
}

/** Until when and why a job waits before trying again ("retrying the upload to S3 eu, at 15:40"). */
export function waitingText(job: Pick<Job, 'waitingUntil' | 'waitingFor'>): string | null {
  if (!job.waitingUntil) return null;
  return `Waiting: ${job.waitingFor ?? 'trying again'} at ${formatTime(job.waitingUntil)}`;
}

/**
 * Cancel (queued, or waiting to try again, where the job's kind allows it) and Retry (failed or
 * cancelled, where it may simply run again). Shown only when the server says the job allows it.
 */
export function JobControls({
  job,
  onChanged,
  small,
}: {
  job: Job;
  /** The job as cancelled, or the new job a retry queued. */
  onChanged?: (job: Job, how: 'cancelled' | 'retried') => void;
  small?: boolean;
}) {
  const client = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => cancelJob(job.id),
    onSuccess: (changed) => {
      void invalidateJobs(client);
      onChanged?.(changed, 'cancelled');
    },
  });
  const retry = useMutation({
    mutationFn: () => retryJob(job.id),
    onSuccess: (queued) => {
      void invalidateJobs(client);
      onChanged?.(queued, 'retried');
    },
  });
  if (!job.can.cancel && !job.can.retry && !cancel.error && !retry.error) return null;
  const size = small ? ' btn-small' : '';
  const error = cancel.error ?? retry.error;
  return (
    <span className="job-controls">
      {job.can.cancel ? (
        <button
          type="button"
          className={`btn btn-secondary btn-danger-text${size}`}
          disabled={cancel.isPending}
          onClick={() => cancel.mutate()}
        >
          {cancel.isPending ? 'Cancelling…' : job.status === 'queued' ? 'Cancel' : 'Cancel the retry'}
        </button>
      ) : null}
      {job.can.retry ? (
        <button
          type="button"
          className={`btn btn-secondary${size}`}
          disabled={retry.isPending}
          onClick={() => retry.mutate()}
        >
          {retry.isPending ? 'Retrying…' : 'Retry'}
        </button>
      ) : null}
      {error ? (
        <span className="job-controls-error" role="alert">
          {errorMessage(error)}
        </span>
      ) : null}
    </span>
  );
}

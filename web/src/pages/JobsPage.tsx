import { Link, useNavigate } from 'react-router-dom';
import { api, call } from '../api/client';
import { errorMessage } from '../api/errors';
import type { Job } from '../api/types';
import { Alert } from '../components/Alert';
import { EmptyState, Loading } from '../components/EmptyState';
import { ChevronRightIcon, TerminalIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { ProgressBar } from '../components/ProgressBar';
import { JobStatusBadge } from '../components/StatusBadges';
import { formatDateTime, formatRelative } from '../format';
import { useInterval, useNow } from '../live';
import { isJobFinished, jobDuration, jobKindLabel, stepLabel } from '../operate';
import { useLoader } from '../useLoader';

const REFRESH_MS = 5000;

function progressTone(job: Job) {
  if (job.status === 'succeeded') return 'green' as const;
  if (job.status === 'failed') return 'red' as const;
  if (job.status === 'cancelled') return 'amber' as const;
  return 'brand' as const;
}

/** The step to mention: where it failed, or where it is now. */
function stepCell(job: Job) {
  if (job.error?.step) {
    return <span className="step-failed">{stepLabel(job.error.step, job.kind)}</span>;
  }
  if (job.step && !isJobFinished(job.status)) return stepLabel(job.step, job.kind);
  return <span className="muted">—</span>;
}

export function JobsTable({
  jobs,
  showTarget = true,
  label = 'Jobs',
}: {
  jobs: Job[];
  showTarget?: boolean;
  label?: string;
}) {
  const navigate = useNavigate();
  const now = useNow(1000);
  return (
    <div className="table-wrap">
      <table className="table table-clickable table-compact" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Job</th>
            {showTarget ? <th scope="col">Target</th> : null}
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Step</th>
            <th scope="col">By</th>
            <th scope="col">Created</th>
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col">
              <span className="visually-hidden">Open</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id} data-job-kind={job.kind} onClick={() => navigate(`/jobs/${job.id}`)}>
              <td className="nowrap">
                <Link className="row-title" to={`/jobs/${job.id}`} onClick={(e) => e.stopPropagation()}>
                  {jobKindLabel(job.kind)}
                </Link>
              </td>
              {showTarget ? (
                <td className="mono nowrap">{job.target?.label ?? <span className="muted">—</span>}</td>
              ) : null}
              <td>
                <JobStatusBadge status={job.status} />
              </td>
              <td>
                <span className="progress-cell">
                  <ProgressBar
                    value={job.progress}
                    label={`Progress of ${jobKindLabel(job.kind)}`}
                    tone={progressTone(job)}
                    active={job.status === 'running'}
                  />
                  <span className="tabular muted">{job.progress}%</span>
                </span>
              </td>
              <td>{stepCell(job)}</td>
              <td className="truncate" title={job.actor.label}>
                {job.actor.label}
              </td>
              <td className="nowrap" title={formatDateTime(job.createdAt)}>
                {formatRelative(job.createdAt, new Date(now))}
              </td>
              <td className="num tabular">{jobDuration(job, now) ?? <span className="muted">—</span>}</td>
              <td className="row-chevron">
                <ChevronRightIcon />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function JobsPage() {
  const { data, error, loading, reload } = useLoader(
    async () => (await call(api.GET('/api/v1/jobs', { params: { query: { limit: 50 } } }))).jobs,
    'jobs',
  );
  const active = (data ?? []).some((job) => !isJobFinished(job.status));
  useInterval(() => void reload(), REFRESH_MS, active);

  return (
    <>
      <PageHeader
        title="Jobs"
        subtitle={
          active
            ? 'Long operations: creating, starting, stopping and deleting instances; backups, restores, clones and imports. Refreshing while some run.'
            : 'Long operations: creating, starting, stopping and deleting instances; backups, restores, clones and imports.'
        }
      />
      <section className="card card-flush">
        {error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(error)}</Alert>
          </div>
        ) : null}
        {loading && !data ? <Loading /> : null}
        {data && data.length === 0 ? (
          <EmptyState icon={<TerminalIcon width={28} height={28} />} title="No jobs yet">
            <p>Creating, starting, stopping or deleting an instance runs a job; each one shows up here.</p>
          </EmptyState>
        ) : null}
        {data && data.length > 0 ? <JobsTable jobs={data} /> : null}
        {data && data.length === 50 ? (
          <div className="card-footer">
            <span className="muted">The 50 most recent jobs.</span>
          </div>
        ) : null}
      </section>
    </>
  );
}

import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { jobsQuery } from '../api/queries';
import type { Job } from '../api/types';
import { Alert } from '../components/Alert';
import { DataTable } from '../components/DataTable';
import { EmptyState, Loading } from '../components/EmptyState';
import { ChevronRightIcon, TerminalIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { ProgressBar } from '../components/ProgressBar';
import { JobStatusBadge } from '../components/StatusBadges';
import { formatDateTime, formatRelative } from '../format';
import { useNow } from '../live';
import { isJobFinished, jobDuration, jobKindLabel, stepLabel } from '../operate';

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
    <DataTable
      label={label}
      className="table-clickable table-compact"
      rows={jobs}
      rowKey={(job) => job.id}
      rowProps={(job) => ({ 'data-job-kind': job.kind, onClick: () => navigate(`/jobs/${job.id}`) })}
      columns={[
        {
          header: 'Job',
          className: 'nowrap',
          cell: (job) => (
            <Link className="row-title" to={`/jobs/${job.id}`} onClick={(e) => e.stopPropagation()}>
              {jobKindLabel(job.kind)}
            </Link>
          ),
        },
        showTarget && {
          header: 'Target',
          className: 'mono nowrap',
          cell: (job) => job.target?.label ?? <span className="muted">—</span>,
        },
        { header: 'Status', cell: (job) => <JobStatusBadge status={job.status} /> },
        {
          header: 'Progress',
          cell: (job) => (
            <span className="progress-cell">
              <ProgressBar
                value={job.progress}
                label={`Progress of ${jobKindLabel(job.kind)}`}
                tone={progressTone(job)}
                active={job.status === 'running'}
              />
              <span className="tabular muted">{job.progress}%</span>
            </span>
          ),
        },
        { header: 'Step', cell: stepCell },
        {
          header: 'By',
          className: 'truncate',
          cellProps: (job) => ({ title: job.actor.label }),
          cell: (job) => job.actor.label,
        },
        {
          header: 'Created',
          className: 'nowrap',
          cellProps: (job) => ({ title: formatDateTime(job.createdAt) }),
          cell: (job) => formatRelative(job.createdAt, new Date(now)),
        },
        {
          header: 'Duration',
          headerClassName: 'num',
          className: 'num tabular',
          cell: (job) => jobDuration(job, now) ?? <span className="muted">—</span>,
        },
        { header: 'Open', hiddenHeader: true, className: 'row-chevron', cell: () => <ChevronRightIcon /> },
      ]}
    />
  );
}

export function JobsPage() {
  const { data, error, isPending } = useQuery({
    ...jobsQuery({ limit: 50 }),
    // Polls while a job runs.
    refetchInterval: (query) =>
      (query.state.data ?? []).some((job) => !isJobFinished(job.status)) ? REFRESH_MS : false,
  });
  const active = (data ?? []).some((job) => !isJobFinished(job.status));

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
        {isPending ? <Loading /> : null}
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

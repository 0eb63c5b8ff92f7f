import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { type JobQuery, jobsQuery } from '../api/queries';
import type { Job, JobStatus } from '../api/types';
import { Alert } from '../components/Alert';
import { DataTable } from '../components/DataTable';
import { EmptyState, Loading } from '../components/EmptyState';
import { InstancePicker } from '../components/InstancePicker';
import { ChevronRightIcon, TerminalIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { ProgressBar } from '../components/ProgressBar';
import { JobStatusBadge } from '../components/StatusBadges';
import { formatDateTime, formatRelative } from '../format';
import { useNow } from '../live';
import { isJobFinished, jobDuration, jobKindLabel, jobKindOptions, stepLabel } from '../operate';
import '../styles/job-control.css';

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

const statuses: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

/** The time filter's choices: how far back, in hours. */
const periods: { value: string; label: string; hours: number }[] = [
  { value: '1h', label: 'Last hour', hours: 1 },
  { value: '24h', label: 'Last 24 hours', hours: 24 },
  { value: '7d', label: 'Last 7 days', hours: 24 * 7 },
  { value: '30d', label: 'Last 30 days', hours: 24 * 30 },
];

const MINUTE_MS = 60_000;

/** The filters, as the page's address keeps them (a filtered list can be shared and reloaded). */
function useJobFilters() {
  const [params, setParams] = useSearchParams();
  const kind = params.get('kind') ?? '';
  const status = statuses.find((s) => s === params.get('status')) ?? '';
  const instance = params.get('instance') ?? '';
  const period = periods.find((p) => p.value === params.get('since')) ?? null;
  const query: JobQuery = { limit: 50 };
  if (kind) query.kind = kind;
  if (status) query.status = status;
  if (instance) query.target = instance;
  // Rounded to the minute: the query (and its cache key) stays put between renders.
  if (period)
    query.since = new Date(Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - period.hours * 3_600_000).toISOString();
  const set = (name: string, value: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );
  const filtered = Boolean(kind || status || instance || period);
  return { kind, status, instance, period: period?.value ?? '', query, set, filtered, clear: () => setParams({}) };
}

function JobFilters({ filters }: { filters: ReturnType<typeof useJobFilters> }) {
  return (
    <form className="job-filters" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
      <div className="job-filter">
        <label htmlFor="job-filter-kind">Kind</label>
        <select id="job-filter-kind" value={filters.kind} onChange={(e) => filters.set('kind', e.target.value)}>
          <option value="">All kinds</option>
          {jobKindOptions.map((k) => (
            <option key={k.value} value={k.value}>
              {k.label}
            </option>
          ))}
        </select>
      </div>
      <div className="job-filter">
        <label htmlFor="job-filter-status">Status</label>
        <select id="job-filter-status" value={filters.status} onChange={(e) => filters.set('status', e.target.value)}>
          <option value="">Any status</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {s.charAt(0).toUpperCase() + s.slice(1)}
            </option>
          ))}
        </select>
      </div>
      <div className="job-filter">
        <label htmlFor="job-filter-instance">Instance</label>
        <InstancePicker
          id="job-filter-instance"
          value={filters.instance}
          onChange={(id) => filters.set('instance', id)}
          noneLabel="All instances"
        />
      </div>
      <div className="job-filter">
        <label htmlFor="job-filter-time">Time</label>
        <select id="job-filter-time" value={filters.period} onChange={(e) => filters.set('since', e.target.value)}>
          <option value="">Any time</option>
          {periods.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
      </div>
      {filters.filtered ? (
        <button type="button" className="btn btn-ghost btn-small" onClick={filters.clear}>
          Clear filters
        </button>
      ) : null}
    </form>
  );
}

export function JobsPage() {
  const filters = useJobFilters();
  const { data, error, isPending } = useQuery({
    ...jobsQuery(filters.query),
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
        <JobFilters filters={filters} />
        {error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(error)}</Alert>
          </div>
        ) : null}
        {isPending ? <Loading /> : null}
        {data && data.length === 0 && filters.filtered ? (
          <EmptyState icon={<TerminalIcon width={28} height={28} />} title="No jobs match these filters">
            <p>
              <button type="button" className="btn btn-secondary btn-small" onClick={filters.clear}>
                Clear filters
              </button>
            </p>
          </EmptyState>
        ) : null}
        {data && data.length === 0 && !filters.filtered ? (
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

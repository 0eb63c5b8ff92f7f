import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { queryKeys } from '../../api/queries';
import { type BackupRun, type BackupRunQuery, type BackupTrigger, backupTriggers } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ChevronRightIcon, HistoryIcon } from '../../components/icons';
import { formatDate, formatDateTime, formatRelative, formatShortTime } from '../../format';
import { useNow } from '../../live';
import { formatBytes, formatDuration } from '../../operate';
import { formatLabel, isBackupMoving, kindLabel, triggerLabel } from '../backups/parts';
import { CopyBadges, copyTitle } from './parts';
import { RetryCopyButton, RunStateBadge } from './RunState';

const ranges = [
  { id: '', label: 'All time', days: 0 },
  { id: '1d', label: 'Last 24 hours', days: 1 },
  { id: '7d', label: 'Last 7 days', days: 7 },
  { id: '30d', label: 'Last 30 days', days: 30 },
  { id: '90d', label: 'Last 90 days', days: 90 },
] as const;

const statuses = [
  { id: '', label: 'All' },
  { id: 'problem', label: 'Problems only' },
  { id: 'completed', label: 'Completed' },
  { id: 'failed', label: 'Failed' },
  { id: 'running', label: 'Running' },
  { id: 'pending', label: 'Pending' },
] as const;

type StatusFilter = (typeof statuses)[number]['id'];
type RangeFilter = (typeof ranges)[number]['id'];

export interface RunFilters {
  status: StatusFilter;
  trigger: BackupTrigger | '';
  range: RangeFilter;
}

export const emptyFilters: RunFilters = { status: '', trigger: '', range: '' };

const copyTone = { pending: 'gray', uploading: 'blue', verified: 'green', failed: 'red', deleted: 'gray' } as const;

/** What went wrong with a run, in one line for its row: the backup itself, or its offsite copies. */
function problemOf(run: BackupRun): string | null {
  if (run.status === 'failed') return run.error ?? 'The backup failed.';
  const failedCopies = run.copies.filter((c) => c.status === 'failed');
  if (failedCopies.length === 0) return null;
  return `Copy to ${failedCopies.map((c) => c.destinationName).join(', ')} failed: ${failedCopies[0]?.error ?? ''}`;
}

function RunDetails({ run }: { run: BackupRun }) {
  return (
    <div className="run-details">
      {run.status === 'failed' && run.error ? (
        <div>
          <p className="run-details-title">The backup failed</p>
          <pre>{run.error}</pre>
        </div>
      ) : null}
      <DataTable
        label="Copies"
        className="table-compact run-copies"
        wrap={false}
        rows={run.copies}
        rowKey={(c) => c.destinationId}
        rowProps={(c) => ({ title: copyTitle(c) })}
        empty={<p className="muted">Kept on this server only; no offsite copies.</p>}
        columns={[
          {
            header: 'Destination',
            cell: (c) => (
              <>
                {c.destinationName} <span className="muted">{c.destinationKind.toUpperCase()}</span>
                {c.encrypted ? <span className="muted"> · encrypted</span> : null}
              </>
            ),
          },
          { header: 'Status', cell: (c) => <Badge tone={copyTone[c.status]}>{c.status}</Badge> },
          { header: 'Size', headerClassName: 'num', className: 'num tabular', cell: (c) => formatBytes(c.sizeBytes) },
          { header: 'Attempts', headerClassName: 'num', className: 'num tabular', cell: (c) => c.attempts },
          {
            header: 'Verified',
            className: 'nowrap',
            cell: (c) => (c.verifiedAt ? formatDateTime(c.verifiedAt) : '—'),
          },
          { header: 'Error', className: 'copy-error', cell: (c) => c.error ?? <span className="muted">—</span> },
        ]}
      />
      <p className="run-details-foot muted">
        {kindLabel[run.kind]} · {formatLabel[run.format]} · by {run.createdBy}
        {run.jobId ? (
          <>
            {' · '}
            <Link to={`/jobs/${run.jobId}`}>job log</Link>
          </>
        ) : null}
      </p>
    </div>
  );
}

/** A run still being made or copied offsite: the history polls while one is. */
const isRunMoving = (run: BackupRun) => isBackupMoving(run) || run.copies.some((c) => c.status === 'uploading');

/**
 * The history of backup runs with their offsite copies, filterable by status ("problems only"),
 * trigger and time; a row opens to show each copy's outcome and error.
 */
export function RunHistory({
  instanceId,
  organizationId,
  showInstance,
  filters: controlled,
  onFiltersChange,
  canRetry = true,
}: {
  /** Offer "Retry copy" on partial runs (the server still checks the role). */
  canRetry?: boolean;
  instanceId?: string;
  organizationId?: string;
  showInstance?: boolean;
  /** Controlled filters, e.g. set to "problems only" by the banner; uncontrolled without. */
  filters?: RunFilters;
  onFiltersChange?(filters: RunFilters): void;
}) {
  const [own, setOwn] = useState<RunFilters>(emptyFilters);
  const filters = controlled ?? own;
  const setFilters = (next: RunFilters) => (onFiltersChange ? onFiltersChange(next) : setOwn(next));
  const uid = useId();
  const [open, setOpen] = useState<Set<string>>(new Set());
  const now = useNow(30_000);
  const list = useQuery({
    queryKey: queryKeys.backupRuns.history({ instanceId, organizationId }, filters),
    queryFn: async () => {
      const query: BackupRunQuery = { limit: 200 };
      if (instanceId) query.instanceId = instanceId;
      if (organizationId) query.organizationId = organizationId;
      if (filters.status) query.status = filters.status;
      if (filters.trigger) query.trigger = filters.trigger;
      const days = ranges.find((r) => r.id === filters.range)?.days ?? 0;
      if (days) query.since = new Date(Date.now() - days * 86_400_000).toISOString();
      return (await call(api.GET('/api/v1/backup-runs', { params: { query } }))).runs;
    },
    // Other filters or another organization: the rows shown stay until the new ones arrive.
    placeholderData: keepPreviousData,
    refetchInterval: (query) => ((query.state.data ?? []).some(isRunMoving) ? 5000 : false),
  });
  const runs = list.data;
  const filtered = filters.status !== '' || filters.trigger !== '' || filters.range !== '';

  function toggle(id: string) {
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }

  return (
    <div className="run-history">
      <form className="filters filters-inline" aria-label="History filters" onSubmit={(e) => e.preventDefault()}>
        <div className="filter">
          <label htmlFor={`${uid}-status`}>Status</label>
          <select
            id={`${uid}-status`}
            value={filters.status}
            onChange={(e) => setFilters({ ...filters, status: e.target.value as StatusFilter })}
          >
            {statuses.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor={`${uid}-trigger`}>Trigger</label>
          <select
            id={`${uid}-trigger`}
            value={filters.trigger}
            onChange={(e) => setFilters({ ...filters, trigger: e.target.value as BackupTrigger | '' })}
          >
            <option value="">All</option>
            {backupTriggers.map((t) => (
              <option key={t} value={t}>
                {triggerLabel[t]}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor={`${uid}-range`}>Time</label>
          <select
            id={`${uid}-range`}
            value={filters.range}
            onChange={(e) => setFilters({ ...filters, range: e.target.value as RangeFilter })}
          >
            {ranges.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        {filtered ? (
          <div className="filter-actions">
            <button type="button" className="btn btn-ghost" onClick={() => setFilters(emptyFilters)}>
              Clear
            </button>
          </div>
        ) : null}
      </form>
      {list.error ? <Alert kind="error">{errorMessage(list.error)}</Alert> : null}
      {!runs && !list.error ? <Loading /> : null}
      {runs ? (
        <DataTable
          label="Backup history"
          className="table-compact history-table"
          rows={runs}
          rowKey={(run) => run.id}
          rowProps={(run) => ({
            className: run.problem ? 'run-problem' : undefined,
            'data-run-id': run.id,
            'data-status': run.status,
            'data-run-state': run.runState,
            'data-problem': run.problem,
            'data-trigger': run.trigger,
          })}
          rowDetails={(run) => (open.has(run.id) ? <RunDetails run={run} /> : null)}
          empty={
            <EmptyState
              icon={<HistoryIcon width={28} height={28} />}
              title={filtered ? 'No run matches these filters' : 'No backup runs yet'}
            />
          }
          columns={[
            {
              header: 'Details',
              hiddenHeader: true,
              headerClassName: 'row-chevron',
              className: 'row-chevron',
              cell: (run) => {
                const expanded = open.has(run.id);
                return (
                  <button
                    type="button"
                    className={`icon-button icon-button-small chevron${expanded ? ' chevron-open' : ''}`}
                    aria-expanded={expanded}
                    aria-label={expanded ? 'Hide details' : 'Show details'}
                    onClick={() => toggle(run.id)}
                  >
                    <ChevronRightIcon width={14} height={14} />
                  </button>
                );
              },
            },
            {
              header: 'Time',
              className: 'nowrap',
              cell: (run) => (
                <span className="stacked-time" title={formatRelative(run.startedAt ?? run.createdAt, new Date(now))}>
                  <span>{formatDate(run.startedAt ?? run.createdAt)}</span>
                  <span className="muted">{formatShortTime(run.startedAt ?? run.createdAt)}</span>
                </span>
              ),
            },
            showInstance && {
              header: 'Instance',
              className: 'nowrap',
              cell: (run) =>
                run.instanceId ? (
                  <Link className="row-title mono" to={`/instances/${run.instanceId}?tab=backups`}>
                    {run.instanceLabel}
                  </Link>
                ) : (
                  <span className="mono">{run.instanceLabel}</span>
                ),
            },
            { header: 'Trigger', className: 'trigger-cell', cell: (run) => triggerLabel[run.trigger] },
            { header: 'Status', cell: (run) => <RunStateBadge state={run.runState} title={problemOf(run)} /> },
            {
              header: 'Duration',
              headerClassName: 'num',
              className: 'num tabular nowrap',
              cell: (run) =>
                run.durationMs === null ? '—' : run.durationMs < 1000 ? '< 1s' : formatDuration(run.durationMs / 1000),
            },
            {
              header: 'Size',
              headerClassName: 'num',
              className: 'num tabular nowrap',
              cell: (run) => formatBytes(run.sizeBytes),
            },
            {
              header: 'Copies',
              cell: (run) =>
                run.copies.length > 0 ? <CopyBadges copies={run.copies} /> : <span className="muted">local only</span>,
            },
            {
              header: 'Problem',
              className: 'problem-cell',
              cell: (run) => {
                const problem = problemOf(run);
                return problem ? (
                  <span className="run-problem-cell">
                    <span className="status-detail status-detail-error" title={problem}>
                      {problem}
                    </span>
                    {run.runState === 'partial' && canRetry ? <RetryCopyButton backupId={run.id} /> : null}
                  </span>
                ) : null;
              },
            },
          ]}
        />
      ) : null}
    </div>
  );
}

const firstLine = (text: string | null): string | null => (text ? (text.split('\n')[0] ?? text) : null);

export interface RunProblem {
  key: string;
  text: string;
  at: string;
}

/**
 * What needs attention in an instance's recent runs: the newest finished scheduled backup failed,
 * or the newest copy to a destination failed (a later good copy clears it).
 */
export function problemsOf(runs: BackupRun[]): RunProblem[] {
  const problems: RunProblem[] = [];
  const lastScheduled = runs.find(
    (r) => r.trigger === 'schedule' && (r.status === 'completed' || r.status === 'failed'),
  );
  if (lastScheduled?.status === 'failed') {
    problems.push({
      key: 'schedule',
      text: `The last scheduled backup failed: ${firstLine(lastScheduled.error) ?? 'see its job'}`,
      at: lastScheduled.createdAt,
    });
  }
  const seen = new Set<string>();
  for (const run of runs) {
    if (run.status === 'failed') continue;
    for (const copy of run.copies) {
      if (seen.has(copy.destinationId) || copy.status === 'pending' || copy.status === 'uploading') continue;
      seen.add(copy.destinationId);
      if (copy.status === 'failed') {
        problems.push({
          key: `copy:${copy.destinationId}`,
          text: `The copy to ${copy.destinationName} failed: ${firstLine(copy.error) ?? 'see the job log'}`,
          at: run.createdAt,
        });
      }
    }
  }
  return problems;
}

/** The red banner on an instance's Backups tab. */
export function ProblemBanner({ problems, onShow }: { problems: RunProblem[]; onShow?(): void }) {
  const now = useNow(30_000);
  if (problems.length === 0) return null;
  return (
    <div className="problem-banner" role="alert" data-testid="backup-problem-banner">
      <strong className="problem-banner-title">
        {problems.length === 1 ? 'A backup needs attention' : `${problems.length} backup problems need attention`}
      </strong>
      <ul>
        {problems.map((p) => (
          <li key={p.key} data-problem={p.key}>
            {p.text} <span className="problem-when">({formatRelative(p.at, new Date(now))})</span>
          </li>
        ))}
      </ul>
      {onShow ? (
        <button type="button" className="btn btn-small problem-banner-action" onClick={onShow}>
          Show the problems in the history
        </button>
      ) : null}
    </div>
  );
}

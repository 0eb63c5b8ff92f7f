import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { queryKeys } from '../../api/queries';
import type { BackupRun, BackupRunQuery } from '../../api/types';
import { Alert } from '../../components/Alert';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ChevronRightIcon, HistoryIcon } from '../../components/icons';
import { formatDate, formatRelative, formatShortTime } from '../../format';
import { useNow } from '../../live';
import { formatBytes, formatDuration } from '../../operate';
import { BackupCopyDetails } from '../backups/BackupCopyDetails';
import { BackupFilters, type BackupFilterValue, filterSince, isFiltered, noFilters } from '../backups/filters';
import { formatLabel, isBackupMoving, kindLabel, triggerLabel } from '../backups/parts';
import { CopyBadges } from './parts';
import { RetryCopyButton, RunStateBadge } from './RunState';

/** What went wrong with a run, in one line for its row: the backup itself, or its offsite copies. */
function problemOf(run: BackupRun): string | null {
  if (run.status === 'failed') return run.error ?? 'The backup failed.';
  const failedCopies = run.copies.filter((c) => c.status === 'failed');
  if (failedCopies.length === 0) return null;
  return `Copy to ${failedCopies.map((c) => c.destinationName).join(', ')} failed: ${failedCopies[0]?.error ?? ''}`;
}

/** Under an opened run: its copies, and what kind of backup it is and who made it. */
function RunDetails({ run }: { run: BackupRun }) {
  return (
    <BackupCopyDetails backup={run}>
      {kindLabel[run.kind]} · {formatLabel[run.format]} · by {run.createdBy}
    </BackupCopyDetails>
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
  filters?: BackupFilterValue;
  onFiltersChange?(filters: BackupFilterValue): void;
}) {
  const [own, setOwn] = useState<BackupFilterValue>(noFilters);
  const filters = controlled ?? own;
  const setFilters = (next: BackupFilterValue) => (onFiltersChange ? onFiltersChange(next) : setOwn(next));
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
      const since = filterSince(filters.range, Date.now());
      if (since) query.since = new Date(since).toISOString();
      return (await call(api.GET('/api/v1/backup-runs', { params: { query } }))).runs;
    },
    // Other filters or another organization: the rows shown stay until the new ones arrive.
    placeholderData: keepPreviousData,
    refetchInterval: (query) => ((query.state.data ?? []).some(isRunMoving) ? 5000 : false),
  });
  const runs = list.data;
  const filtered = isFiltered(filters);

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
      <BackupFilters label="History filters" value={filters} onChange={setFilters} />
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

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { errorMessage } from '../../api/errors';
import { backupRunsQuery, instanceBackupsQuery, queryKeys } from '../../api/queries';
import type { Instance } from '../../api/types';
import { Alert } from '../../components/Alert';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ArchiveIcon, CloneIcon, HistoryIcon, PlusIcon } from '../../components/icons';
import { formatRelative } from '../../format';
import { formatBytes } from '../../operate';
import { ProblemBanner, problemsOf } from '../offsite/RunHistory';
import { ScheduleCard } from '../offsite/ScheduleCard';
import { useBackupActions, whileBackupsMove } from './actions';
import { applyFilters, BackupFilters, type BackupFilterValue, isFiltered, noFilters } from './filters';
import { BackupsTable } from './parts';
import { SizeChart } from './SizeChart';
import { canTakeData, useAdminScope } from './scope';

/**
 * The Backups tab of an instance: its backups in one table (filterable, each row opening on its
 * offsite copies and job log), their sizes over time, and what to do with them.
 */
export function BackupsTab({ instance, isAdmin }: { instance: Instance; isAdmin: boolean }) {
  const id = instance.id;
  const queryClient = useQueryClient();
  const options = instanceBackupsQuery(id);
  const list = useQuery({ ...options, refetchInterval: whileBackupsMove });
  const scope = useAdminScope();
  const actions = useBackupActions(list, options.queryKey, scope);
  const { rows } = actions;

  // The history and the banner follow the list: any backup or copy that moves on reloads them.
  const signature = rows
    ?.map((b) => `${b.id}:${b.status}:${b.copies.map((c) => c.status).join(',')}:${b.verification?.status ?? ''}`)
    .join('|');
  const seenSignature = useRef(signature);
  useEffect(() => {
    if (signature === seenSignature.current) return;
    const first = seenSignature.current === undefined;
    seenSignature.current = signature;
    // The first list needs no second fetch of the runs, which load along with it.
    if (!first) void queryClient.invalidateQueries({ queryKey: queryKeys.backupRuns.all });
  }, [signature, queryClient]);
  const recent = useQuery(backupRunsQuery({ instanceId: id, limit: 50 }));
  const problems = problemsOf(recent.data ?? []);
  const lastScheduled = (recent.data ?? []).find((r) => r.trigger === 'schedule');
  const [filters, setFilters] = useState<BackupFilterValue>(noFilters);
  const tableRef = useRef<HTMLElement>(null);
  const shown = rows ? applyFilters(rows, filters) : undefined;

  const completed = (rows ?? []).filter((b) => b.status === 'completed');
  const newest = completed[0];
  const total = completed.reduce((sum, b) => sum + (b.sizeBytes ?? 0), 0);
  const canBackUp = canTakeData(instance);
  const backUpButton = isAdmin ? (
    <button
      type="button"
      className="btn btn-primary"
      data-permission="backup.manage"
      onClick={() => actions.backUp(instance)}
      disabled={!canBackUp}
      title={canBackUp ? undefined : `The instance is ${instance.status}; it can be backed up once it is ready.`}
    >
      <PlusIcon />
      Back up now
    </button>
  ) : null;

  return (
    <div className="backups-tab">
      <div className="section-head backups-head">
        <div>
          <h2>Backups</h2>
          <p className="muted">
            {rows && rows.length > 0
              ? `${completed.length} completed · ${formatBytes(total)} stored${newest ? ` · last ${formatRelative(newest.createdAt)}` : ''}`
              : 'Snapshots of the database and the filestore, kept by Marina.'}
          </p>
        </div>
        {isAdmin ? (
          <div className="page-actions">
            <Link className="btn btn-secondary" to={`/instances/${id}/clone`}>
              <CloneIcon />
              Clone…
            </Link>
            {backUpButton}
          </div>
        ) : null}
      </div>
      <ProblemBanner
        problems={problems}
        onShow={() => {
          setFilters({ ...noFilters, status: 'problem' });
          tableRef.current?.scrollIntoView({ behavior: 'smooth', block: 'start' });
        }}
      />
      {actions.progress}
      {list.error ? <Alert kind="error">{errorMessage(list.error)}</Alert> : null}
      <ScheduleCard
        instance={instance}
        isAdmin={isAdmin}
        lastRun={lastScheduled}
        onStarted={actions.added}
        onJobEnded={actions.refresh}
      />
      {completed.length > 0 ? (
        <section className="card card-body chart-card" aria-label="Backup sizes">
          <h3 className="chart-title">Size over time</h3>
          <SizeChart backups={rows ?? []} />
        </section>
      ) : null}
      <section className="card card-flush backups-one-table" aria-label="Backup list" ref={tableRef}>
        {rows && rows.length > 0 ? <BackupFilters value={filters} onChange={setFilters} /> : null}
        {!rows && !list.error ? <Loading /> : null}
        {rows && rows.length === 0 ? (
          <EmptyState icon={<ArchiveIcon width={28} height={28} />} title="No backups yet">
            <p>
              Back up {instance.name} now, in Odoo’s own zip format or Marina’s fast native format. Restores and clones
              take a safety backup on their own.
            </p>
            {backUpButton}
          </EmptyState>
        ) : null}
        {rows && rows.length > 0 && shown ? (
          <BackupsTable
            backups={shown}
            label="Backups"
            details
            canManage={() => isAdmin}
            onPin={actions.pin}
            onRestore={actions.restore}
            onDelete={actions.remove}
            onJobEnded={actions.refresh}
            onVerify={isAdmin ? actions.verify : undefined}
            onDownloadDump={isAdmin ? actions.downloadDump : undefined}
            empty={
              <EmptyState
                icon={<HistoryIcon width={28} height={28} />}
                title={isFiltered(filters) ? 'No backup matches these filters' : 'No backups yet'}
              />
            }
          />
        ) : null}
      </section>
      {actions.dialogs}
    </div>
  );
}

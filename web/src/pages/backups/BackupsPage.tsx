import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { errorMessage } from '../../api/errors';
import { backupsQuery } from '../../api/queries';
import {
  type BackupKind,
  type BackupQuery,
  type BackupStatus,
  type BackupTrigger,
  backupKinds,
  backupStatuses,
  backupTriggers,
} from '../../api/types';
import { Alert } from '../../components/Alert';
import { EmptyState, Loading } from '../../components/EmptyState';
import { InstancePicker } from '../../components/InstancePicker';
import { ArchiveIcon, CloneIcon, HistoryIcon, UploadIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { formatBytes } from '../../operate';
import { useBackupActions, whileBackupsMove } from './actions';
import { BackupsTable, kindLabel, triggerLabel } from './parts';
import { useAdminScope } from './scope';

const FILTERS = ['organization', 'instance', 'kind', 'status', 'trigger', 'pinned'] as const;

function queryOf(params: URLSearchParams): BackupQuery {
  const query: BackupQuery = {};
  const organization = params.get('organization');
  const instance = params.get('instance');
  const kind = params.get('kind');
  const status = params.get('status');
  const trigger = params.get('trigger');
  const pinned = params.get('pinned');
  if (organization) query.organization = organization;
  if (instance) query.instance = instance;
  if (kind && (backupKinds as string[]).includes(kind)) query.kind = kind as BackupKind;
  if (status && (backupStatuses as string[]).includes(status)) query.status = status as BackupStatus;
  if (trigger && (backupTriggers as string[]).includes(trigger)) query.trigger = trigger as BackupTrigger;
  if (pinned === 'true' || pinned === 'false') query.pinned = pinned === 'true';
  return query;
}

/** Every backup the user can see, filtered; with the ways in: import a zip, clone an instance. */
export function BackupsPage() {
  const [params, setParams] = useSearchParams();
  const query = useMemo(() => queryOf(params), [params]);
  // The rows of the previous filters stay until the new ones arrive, as the table must not blink.
  const options = backupsQuery(query);
  const list = useQuery({ ...options, placeholderData: keepPreviousData, refetchInterval: whileBackupsMove });
  const scope = useAdminScope();
  const actions = useBackupActions(list, options.queryKey, scope);
  const { rows } = actions;
  const filtered = FILTERS.some((f) => params.get(f));
  const canWrite = scope.organizations.length > 0;

  function setFilter(name: (typeof FILTERS)[number], value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    // An instance of another organization would filter everything out.
    if (name === 'organization') next.delete('instance');
    setParams(next, { replace: true });
  }

  const completed = (rows ?? []).filter((b) => b.status === 'completed');
  const stored = completed.reduce((sum, b) => sum + (b.sizeBytes ?? 0), 0);

  return (
    <>
      <PageHeader
        title="Backups"
        subtitle="Snapshots of your instances’ databases and filestores — also the safety backups of deleted instances."
        actions={
          <>
            <Link className="btn btn-secondary" to="/backups/history">
              <HistoryIcon />
              History
            </Link>
            {canWrite ? (
              <>
                <Link className="btn btn-secondary" to="/clone">
                  <CloneIcon />
                  Clone an instance
                </Link>
                <Link className="btn btn-primary" to="/imports/new">
                  <UploadIcon />
                  Import a backup
                </Link>
              </>
            ) : null}
          </>
        }
      />
      {rows ? (
        <div className="stats stats-4">
          <div className="stat card">
            <span className="stat-label">{filtered ? 'Matching backups' : 'Backups'}</span>
            <span className="stat-value tabular">{rows.length}</span>
          </div>
          <div className="stat card">
            <span className="stat-label">Stored</span>
            <span className="stat-value tabular">{formatBytes(stored)}</span>
          </div>
          <div className="stat card">
            <span className="stat-label">Pinned</span>
            <span className="stat-value tabular">{rows.filter((b) => b.pinned).length}</span>
          </div>
          <div className="stat card" data-testid="stat-failed">
            <span className="stat-label">Failed or partial</span>
            {/* The run's one state (run-state.ts): a good backup whose copy failed counts too. */}
            <span className="stat-value tabular">
              {rows.filter((b) => b.runState === 'failed' || b.runState === 'partial').length}
            </span>
          </div>
        </div>
      ) : null}
      <form className="card filters filters-compact" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div className="filter">
          <label htmlFor="filter-organization">Organization</label>
          <select
            id="filter-organization"
            value={params.get('organization') ?? ''}
            onChange={(e) => setFilter('organization', e.target.value)}
          >
            <option value="">All</option>
            {scope.visibleOrganizations.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="filter-instance">Instance</label>
          <InstancePicker
            id="filter-instance"
            value={params.get('instance') ?? ''}
            onChange={(id) => setFilter('instance', id)}
            organization={query.organization}
            noneLabel="All"
          />
        </div>
        <div className="filter">
          <label htmlFor="filter-kind">Kind</label>
          <select id="filter-kind" value={params.get('kind') ?? ''} onChange={(e) => setFilter('kind', e.target.value)}>
            <option value="">All</option>
            {backupKinds.map((k) => (
              <option key={k} value={k}>
                {kindLabel[k]}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="filter-status">Status</label>
          <select
            id="filter-status"
            value={params.get('status') ?? ''}
            onChange={(e) => setFilter('status', e.target.value)}
          >
            <option value="">All</option>
            {backupStatuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="filter-trigger">Trigger</label>
          <select
            id="filter-trigger"
            value={params.get('trigger') ?? ''}
            onChange={(e) => setFilter('trigger', e.target.value)}
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
          <label htmlFor="filter-pinned">Pinned</label>
          <select
            id="filter-pinned"
            value={params.get('pinned') ?? ''}
            onChange={(e) => setFilter('pinned', e.target.value)}
          >
            <option value="">Any</option>
            <option value="true">Pinned</option>
            <option value="false">Not pinned</option>
          </select>
        </div>
        {filtered ? (
          <div className="filter-actions">
            <button type="button" className="btn btn-ghost" onClick={() => setParams({}, { replace: true })}>
              Clear
            </button>
          </div>
        ) : null}
      </form>
      {actions.progress}
      <section className="card card-flush">
        {list.error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(list.error)}</Alert>
          </div>
        ) : null}
        {!rows && !list.error ? <Loading /> : null}
        {rows && rows.length === 0 ? (
          <EmptyState
            icon={<ArchiveIcon width={28} height={28} />}
            title={filtered ? 'No backup matches these filters' : 'No backups yet'}
          >
            {filtered ? (
              <p>Clear a filter or two to see more.</p>
            ) : (
              <p>
                Back up an instance from its Backups tab, or import a zip made by Odoo’s database manager or Odoo.sh.
              </p>
            )}
          </EmptyState>
        ) : null}
        {rows && rows.length > 0 ? (
          <BackupsTable
            backups={rows}
            label="All backups"
            showInstance
            canManage={(b) => scope.isAdminOf(b.organizationId)}
            onPin={actions.pin}
            onRestore={actions.restore}
            onDelete={actions.remove}
            onJobEnded={actions.refresh}
            onVerify={actions.verify}
            onDownloadDump={actions.downloadDump}
          />
        ) : null}
      </section>
      {actions.dialogs}
    </>
  );
}

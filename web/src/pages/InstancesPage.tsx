import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { instancePagesQuery } from '../api/instance-pages';
import { hostsQuery, organizationsQuery, projectsQuery, queryKeys } from '../api/queries';
import type { Instance, InstanceStats, Organization, Project } from '../api/types';
import { Alert } from '../components/Alert';
import { DataTable } from '../components/DataTable';
import { EmptyState, Loading } from '../components/EmptyState';
import { ExternalIcon, PlusIcon, ServerIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { InstanceStatusBadge, StageBadge } from '../components/StatusBadges';
import { type LiveState, useLiveInstanceCache, useNow, useStatsOf } from '../live';
import { formatBytes, formatDuration, formatPercent, formatSize, isRunning, secondsSince } from '../operate';
import { canAnywhere, isOperator } from '../session/permissions';
import { useMe } from '../session/SessionContext';
import { DeletedInstances } from './instance/DeletedInstances';
import { RestartAllDialog } from './instance/RestartAllDialog';

const STATS_EVERY_MS = 15_000;
const STATS_AT_ONCE = 20;
/** A row's height in the wide table: a project's name over its organization's. */
const ROW_HEIGHT = 61;

export function LiveIndicator({ state }: { state: LiveState }) {
  const text = state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <span
      className={`live-indicator live-${state}`}
      role="status"
      title={state === 'live' ? 'Changes appear as they happen' : 'Live updates are paused; reconnecting'}
      data-testid="live-indicator"
    >
      <span className="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

/**
 * The instance list a page at a time, kept in step with GET /instances/events: the next page is
 * asked for when the table shows a row still to come, one page after another until the rows in
 * view are there.
 */
function useInstancePages() {
  const list = useInfiniteQuery(instancePagesQuery());
  const live = useLiveInstanceCache();
  const rows = useMemo(() => list.data?.pages.flatMap((page) => page.instances), [list.data]);
  const first = list.data?.pages[0];
  // While pages remain, at least one row is still to come, whatever the (live-adjusted) count says.
  const total = rows && list.hasNextPage ? Math.max(first?.total ?? 0, rows.length + 1) : (rows?.length ?? 0);
  // How many rows the table needs for the rows in view: compared with the rows loaded when both are
  // current, so a page that just came is not followed by one more the view does not need. Every
  // loaded row deleted meanwhile leaves no table to scroll: the next page is needed then too.
  const [needed, setNeeded] = useState(0);
  const loaded = rows?.length ?? 0;
  const short = rows !== undefined && (needed > loaded || loaded === 0);
  const { hasNextPage, isFetching, isFetchNextPageError, fetchNextPage } = list;
  useEffect(() => {
    // A failed page waits for "Try again" rather than being asked for again at every scroll.
    if (short && hasNextPage && !isFetching && !isFetchNextPageError) void fetchNextPage();
  }, [short, hasNextPage, isFetching, isFetchNextPageError, fetchNextPage]);
  return {
    rows,
    total,
    // Rows not loaded may run too: "Restart all" asks the server for its own selection anyway.
    anyRunning: (rows ?? []).some(isRunning) || (first?.running ?? 0) > 0,
    // A failed next page keeps the rows already shown; a failed first page shows instead of them.
    error: isFetchNextPageError ? null : list.error,
    moreError: isFetchNextPageError ? list.error : null,
    retry: () => void fetchNextPage(),
    loading: list.isPending,
    onRowsNeeded: setNeeded,
    live,
  };
}

function Usage({ stats }: { stats: InstanceStats | undefined }) {
  if (!stats) return <span className="muted">—</span>;
  return (
    <span className="usage">
      <span>
        <span className="usage-label">CPU</span> {formatPercent(stats.cpuPercent)}
      </span>
      <span>
        <span className="usage-label">RAM</span> {formatBytes(stats.memoryBytes)}
      </span>
    </span>
  );
}

function shortUrl(url: string): string {
  return url.replace(/^https?:\/\//, '');
}

interface TableProps {
  instances: Instance[];
  /** How many instances there are, loaded or not. */
  total: number;
  onRowsNeeded(count: number): void;
  projects: Map<string, Project>;
  organizations: Map<string, Organization>;
  stats: Record<string, InstanceStats>;
}

function InstancesTable({ instances, total, onRowsNeeded, projects, organizations, stats }: TableProps) {
  const navigate = useNavigate();
  const now = useNow(1000);
  return (
    <DataTable
      label="Instances"
      className="table-clickable table-compact"
      rows={instances}
      // Thousands of instances: only the rows in view are in the page (past 100).
      virtual
      virtualRowHeight={ROW_HEIGHT}
      // Loaded a page at a time: the rows still to come hold their place, and come as they scroll in.
      paging={{ total, onRowsNeeded }}
      rowKey={(instance) => instance.id}
      rowProps={(instance) => ({
        'data-instance': instance.name,
        className: instance.stage === 'production' ? 'row-production' : undefined,
        onClick: () => navigate(`/instances/${instance.id}`),
      })}
      columns={[
        {
          header: 'Name',
          cell: (instance) => (
            <Link className="row-title" to={`/instances/${instance.id}`} onClick={(e) => e.stopPropagation()}>
              {instance.name}
            </Link>
          ),
        },
        {
          header: 'Project',
          cell: (instance) => {
            const project = projects.get(instance.projectId);
            const org = organizations.get(instance.organizationId);
            return (
              <span className="stacked-time">
                <Link to={`/projects/${instance.projectId}`} onClick={(e) => e.stopPropagation()}>
                  {project?.displayName ?? project?.name ?? 'Project'}
                </Link>
                {org ? <span className="muted">{org.name}</span> : null}
              </span>
            );
          },
        },
        { header: 'Stage', cell: (instance) => <StageBadge stage={instance.stage} /> },
        { header: 'Odoo', className: 'mono', cell: (instance) => instance.odooVersion },
        {
          header: 'Status',
          cell: (instance) => (
            <span className="status-cell">
              <InstanceStatusBadge instance={instance} />
              {instance.statusDetail ? (
                <span className="status-detail" title={instance.statusDetail}>
                  {instance.statusDetail}
                </span>
              ) : null}
            </span>
          ),
        },
        {
          header: 'Uptime',
          className: 'nowrap tabular',
          cell: (instance) =>
            instance.startedAt && isRunning(instance) ? (
              formatDuration(secondsSince(instance.startedAt, now))
            ) : (
              <span className="muted">—</span>
            ),
        },
        { header: 'Size', className: 'nowrap', cell: (instance) => formatSize(instance) },
        {
          header: 'Usage',
          className: 'nowrap tabular',
          cell: (instance) =>
            isRunning(instance) ? <Usage stats={stats[instance.id]} /> : <span className="muted">—</span>,
        },
        {
          header: 'URL',
          className: 'nowrap',
          cell: (instance) =>
            instance.url ? (
              <a
                className="external-link mono"
                href={instance.url}
                target="_blank"
                rel="noreferrer"
                onClick={(e) => e.stopPropagation()}
              >
                {shortUrl(instance.url)}
                <ExternalIcon width={12} height={12} />
                <span className="visually-hidden"> (opens {instance.name} in a new tab)</span>
              </a>
            ) : (
              <span className="muted">—</span>
            ),
        },
      ]}
    />
  );
}

/** Platform admins learn here when Marina cannot reach a Docker engine. */
function UnreachableHosts() {
  const hosts = useQuery(hostsQuery());
  const down = (hosts.data ?? []).filter((h) => h.state === 'unreachable');
  if (down.length === 0) return null;
  return (
    <div className="page-banner">
      {down.map((host) => (
        <Alert key={host.id} kind="warning" title={`Docker host “${host.name}” is unreachable`}>
          {host.message ?? 'Marina cannot talk to its Docker engine.'} Instances on it cannot be started, stopped or
          created until it answers again.
        </Alert>
      ))}
    </div>
  );
}

export function InstancesPage() {
  const me = useMe();
  const queryClient = useQueryClient();
  const { rows, total, anyRunning, error, moreError, retry, loading, onRowsNeeded, live } = useInstancePages();
  const projects = useQuery(projectsQuery());
  const orgs = useQuery(organizationsQuery());
  const projectMap = useMemo(() => new Map((projects.data ?? []).map((p) => [p.id, p])), [projects.data]);
  const orgMap = useMemo(() => new Map((orgs.data ?? []).map((o) => [o.id, o])), [orgs.data]);
  const runningIds = useMemo(() => (rows ?? []).filter(isRunning).map((i) => i.id), [rows]);
  const stats = useStatsOf(runningIds, STATS_EVERY_MS, STATS_AT_ONCE);
  const canCreate = canAnywhere(me, 'instance.operate');

  // Project names may be new (created in the wizard elsewhere): fetch again when one is unknown.
  const unknownProject = (rows ?? []).some((i) => !projectMap.has(i.projectId));
  const refetchProjects = projects.refetch;
  const projectsFailed = Boolean(projects.error);
  useEffect(() => {
    if (unknownProject && !projects.isFetching && !projectsFailed) void refetchProjects();
  }, [unknownProject, projects.isFetching, projectsFailed, refetchProjects]);

  const newButton = canCreate ? (
    <Link className="btn btn-primary" data-permission="instance.operate" to="/instances/new">
      <PlusIcon />
      New instance
    </Link>
  ) : null;
  const [restartAll, setRestartAll] = useState<'confirm' | number | null>(null);
  const actions = (
    <>
      {isOperator(me) && anyRunning ? (
        <button type="button" className="btn btn-secondary" onClick={() => setRestartAll('confirm')}>
          Restart all
        </button>
      ) : null}
      {newButton}
    </>
  );

  return (
    <>
      <PageHeader
        title={
          <span className="title-with-badge">
            Instances <LiveIndicator state={live} />
          </span>
        }
        subtitle="Odoo databases and the containers that run them."
        actions={actions}
      />
      {isOperator(me) ? <UnreachableHosts /> : null}
      {typeof restartAll === 'number' ? (
        <Alert kind="success">
          {restartAll} restart job{restartAll === 1 ? '' : 's'} queued; follow them under <Link to="/jobs">Jobs</Link>.
        </Alert>
      ) : null}
      {restartAll === 'confirm' ? (
        <RestartAllDialog
          onQueued={(jobs) => {
            setRestartAll(jobs);
            void queryClient.invalidateQueries({ queryKey: queryKeys.jobs.all });
          }}
          onClose={() => setRestartAll((current) => (current === 'confirm' ? null : current))}
        />
      ) : null}
      <section className="card card-flush">
        {error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(error)}</Alert>
          </div>
        ) : null}
        {loading && !rows ? <Loading /> : null}
        {rows && total === 0 ? (
          <EmptyState icon={<ServerIcon width={28} height={28} />} title="No instances yet">
            {canCreate ? (
              <>
                <p>Create an Odoo instance: pick a project, a stage and a size, and Marina does the rest.</p>
                {newButton}
              </>
            ) : (
              <p>Your organizations have no instances yet. An organization admin can create one.</p>
            )}
          </EmptyState>
        ) : null}
        {rows && rows.length > 0 ? (
          <InstancesTable
            instances={rows}
            total={total}
            onRowsNeeded={onRowsNeeded}
            projects={projectMap}
            organizations={orgMap}
            stats={stats}
          />
        ) : null}
        {moreError ? (
          <div className="card-body">
            <Alert kind="error">
              {errorMessage(moreError)}{' '}
              <button type="button" className="btn btn-secondary btn-small" onClick={retry}>
                Try again
              </button>
            </Alert>
          </div>
        ) : null}
      </section>
      <DeletedInstances projects={projects.data ?? []} />
    </>
  );
}

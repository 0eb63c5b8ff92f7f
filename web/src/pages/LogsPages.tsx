import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, call } from '../api/client';
import { errorMessage } from '../api/errors';
import { INSTANCE_PAGE_SIZE, instancePagesQuery } from '../api/instance-pages';
import { instanceQuery, projectsQuery } from '../api/queries';
import { Alert } from '../components/Alert';
import { EmptyState, Loading } from '../components/EmptyState';
import { InstancePicker } from '../components/InstancePicker';
import { ArrowLeftIcon, ServerIcon, TerminalIcon } from '../components/icons';
import { LogViewer } from '../components/logs/LogViewer';
import type { LogSource } from '../components/logs/model';
import { PageHeader } from '../components/PageHeader';
import { InstanceStatusBadge, StageBadge } from '../components/StatusBadges';
import { useLiveInstanceCache } from '../live';
import { isOperator } from '../session/permissions';
import { useMe } from '../session/SessionContext';

/** An instance's Odoo log, for the LogViewer. */
export function useInstanceLogSource(id: string, name: string): LogSource {
  return useMemo(
    () => ({
      base: `/api/v1/instances/${id}/logs`,
      name,
      databases: true,
      requests: true,
      load: async (query) =>
        (await call(api.GET('/api/v1/instances/{id}/logs', { params: { path: { id }, query } }))).entries,
    }),
    [id, name],
  );
}

const marinaSource: LogSource = {
  base: '/api/v1/system/logs',
  name: 'Marina',
  databases: false,
  requests: false,
  load: async (query) => (await call(api.GET('/api/v1/system/logs', { params: { query } }))).entries,
};

/**
 * The newest instances, a page more at each "Show more": the pages are the Instances page's (one
 * cache, kept live), of which this shows only as many as asked for here.
 */
function useNewestInstances() {
  const list = useInfiniteQuery(instancePagesQuery());
  useLiveInstanceCache();
  const [wanted, setWanted] = useState(INSTANCE_PAGE_SIZE);
  const loaded = useMemo(() => list.data?.pages.flatMap((page) => page.instances), [list.data]);
  const rows = loaded?.slice(0, wanted);
  const more = (loaded?.length ?? 0) > wanted || list.hasNextPage;
  function showMore() {
    setWanted((count) => count + INSTANCE_PAGE_SIZE);
    if ((loaded?.length ?? 0) < wanted + INSTANCE_PAGE_SIZE && list.hasNextPage) void list.fetchNextPage();
  }
  return {
    rows,
    total: list.data?.pages[0]?.total ?? rows?.length ?? 0,
    more,
    showMore,
    fetchingMore: list.isFetchingNextPage,
    error: list.error,
    loading: list.isPending,
  };
}

/** /logs: which log to read — each instance's, and Marina's own for platform admins. */
export function LogsPage() {
  const me = useMe();
  const navigate = useNavigate();
  const { rows, total, more, showMore, fetchingMore, error, loading } = useNewestInstances();
  const projects = useQuery(projectsQuery());
  const projectMap = useMemo(() => new Map((projects.data ?? []).map((p) => [p.id, p])), [projects.data]);

  return (
    <>
      <PageHeader
        title="Logs"
        subtitle="What your Odoo instances write while they run: follow them live, search them."
      />
      {isOperator(me) ? (
        <>
          <h2 className="section-subtitle">Platform</h2>
          <div className="log-sources">
            <Link className="card log-source" to="/logs/marina">
              <span className="log-source-icon">
                <TerminalIcon />
              </span>
              <span className="log-source-body">
                <span className="log-source-title">Marina</span>
                <span className="log-source-note">Marina’s own log: API requests, jobs, Docker events.</span>
              </span>
            </Link>
          </div>
        </>
      ) : null}
      <h2 className="section-subtitle">Instances</h2>
      {rows && rows.length > 0 ? (
        <div className="field log-find">
          <label htmlFor="log-find-instance">Find an instance</label>
          <InstancePicker
            id="log-find-instance"
            value=""
            onChange={(id) => navigate(`/instances/${id}/logs`)}
            placeholder="Type part of its name"
          />
        </div>
      ) : null}
      {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
      {loading && !rows ? <Loading /> : null}
      {rows && rows.length === 0 ? (
        <section className="card">
          <EmptyState icon={<ServerIcon width={28} height={28} />} title="No instances yet">
            <p>Each Odoo instance writes its own log; create one to see it here.</p>
          </EmptyState>
        </section>
      ) : null}
      {rows && rows.length > 0 ? (
        <nav className="log-sources" aria-label="Instance logs">
          {rows.map((instance) => {
            const project = projectMap.get(instance.projectId);
            return (
              <Link
                key={instance.id}
                className="card log-source"
                to={`/instances/${instance.id}/logs`}
                data-instance={instance.name}
              >
                <span className="log-source-icon">
                  <ServerIcon />
                </span>
                <span className="log-source-body">
                  <span className="log-source-title">
                    {instance.name}
                    <StageBadge stage={instance.stage} />
                  </span>
                  <span className="log-source-note">
                    {project ? `${project.displayName ?? project.name} · ` : ''}Odoo {instance.odooVersion}
                  </span>
                  <span>
                    <InstanceStatusBadge instance={instance} />
                  </span>
                </span>
              </Link>
            );
          })}
        </nav>
      ) : null}
      {rows && more ? (
        <div className="log-more">
          <span className="muted">
            The newest {rows.length} of {total} instances.
          </span>
          <button type="button" className="btn btn-secondary btn-small" onClick={showMore} disabled={fetchingMore}>
            {fetchingMore ? 'Loading…' : 'Show more'}
          </button>
        </div>
      ) : null}
    </>
  );
}

/** /instances/:id/logs: the instance's log over the whole window. */
export function InstanceLogsPage() {
  const { id = '' } = useParams();
  const loaded = useQuery(instanceQuery(id));
  const instance = loaded.data;
  useLiveInstanceCache();
  const source = useInstanceLogSource(id, instance?.name ?? 'Instance');

  const back = (
    <Link className="back-link" to={`/instances/${id}`}>
      <ArrowLeftIcon />
      {instance?.name ?? 'Instance'}
    </Link>
  );
  if (loaded.error) {
    return (
      <>
        {back}
        <Alert kind="error">{errorMessage(loaded.error)}</Alert>
      </>
    );
  }
  if (!instance) return <Loading />;
  return (
    <div className="log-page">
      {back}
      <PageHeader
        title={
          <span className="title-with-badge">
            Logs of {instance.name}
            <InstanceStatusBadge instance={instance} />
            <StageBadge stage={instance.stage} />
          </span>
        }
      />
      <LogViewer source={source} />
    </div>
  );
}

/** /logs/marina: Marina's own log, for platform admins. */
export function SystemLogPage() {
  const me = useMe();
  const back = (
    <Link className="back-link" to="/logs">
      <ArrowLeftIcon />
      Logs
    </Link>
  );
  if (!isOperator(me)) {
    return (
      <>
        {back}
        <Alert kind="info" title="Only platform administrators can read Marina’s log">
          It shows every organization’s activity. The logs of your instances are under <Link to="/logs">Logs</Link>.
        </Alert>
      </>
    );
  }
  return (
    <div className="log-page">
      {back}
      <PageHeader title="Marina’s log" />
      <LogViewer source={marinaSource} />
    </div>
  );
}

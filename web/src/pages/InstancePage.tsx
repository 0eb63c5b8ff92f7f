import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import {
  instanceQuery,
  invalidateInstance,
  jobsQuery,
  organizationsQuery,
  projectInstancesQuery,
  queryKeys,
} from '../api/queries';
import type { Job } from '../api/types';
import { Alert } from '../components/Alert';
import { EmptyState, Loading } from '../components/EmptyState';
import { heldTitle, InstanceHoldReason, useInstanceHolds } from '../components/InstanceHolds';
import {
  ActivityIcon,
  ArchiveIcon,
  ArrowLeftIcon,
  BranchIcon,
  ChartIcon,
  ExternalIcon,
  GaugeIcon,
  GlobeIcon,
  KeyIcon,
  MailIcon,
  PuzzleIcon,
  TerminalIcon,
} from '../components/icons';
import { JobProgress } from '../components/JobProgress';
import { LogViewer } from '../components/logs/LogViewer';
import { PageHeader } from '../components/PageHeader';
import { InstanceStatusBadge, StageBadge } from '../components/StatusBadges';
import { useToast } from '../components/Toast';
import { formatDate, formatDateTime, formatRelative } from '../format';
import { useLiveInstanceCache, useNow, useStatsOf } from '../live';
import { formatDuration, formatMemoryMb, isJobFinished, isRunning, jobKindLabel, secondsSince } from '../operate';
import { can, type Permission } from '../session/permissions';
import { useMe } from '../session/SessionContext';
import { BackupsTab } from './backups/BackupsTab';
import { DomainsTab, useEdgeEnabled } from './domains/DomainsTab';
import { LiveIndicator } from './InstancesPage';
import { CredentialsModal } from './instance/CredentialsModal';
import {
  type Action,
  ActionDialog,
  actionVerb,
  cannotDelete,
  canRestart,
  canStart,
  canStop,
} from './instance/InstanceActionDialog';
import { STATS_EVERY_MS, StatCard, StatsCards } from './instance/InstanceStats';
import { MoveInstanceButton, moveOutcome } from './instance/MoveInstance';
import { NodeRecovery } from './instance/NodeRecovery';
import { SendAccessModal } from './instance/SendAccessModal';
import { UndoNotice } from './instance/UndoRestore';
import { JobsTable } from './JobsPage';
import { useInstanceLogSource } from './LogsPages';
import { MailTab } from './mail/MailTab';
import { ModulesTab } from './modules/ModulesTab';
import { usageQuery } from './plans/api';
import { ProjectLink } from './project/ProjectLink';
import { RepositoriesTab } from './repositories/RepositoriesTab';

const instanceTabs = [
  { id: 'overview', label: 'Overview', icon: <ActivityIcon /> },
  { id: 'metrics', label: 'Metrics', icon: <ChartIcon /> },
  { id: 'uptime', label: 'Uptime', icon: <GaugeIcon /> },
  { id: 'backups', label: 'Backups', icon: <ArchiveIcon /> },
  { id: 'repositories', label: 'Repositories', icon: <BranchIcon /> },
  { id: 'modules', label: 'Modules', icon: <PuzzleIcon /> },
  { id: 'domains', label: 'Domains', icon: <GlobeIcon /> },
  { id: 'mail', label: 'Mail', icon: <MailIcon /> },
] as const;
type InstanceTab = (typeof instanceTabs)[number]['id'];

// uPlot and the charts are loaded only when the tab is opened.
const MetricsTab = lazy(() => import('./metrics/MetricsTab'));
const UptimeTab = lazy(() => import('./alerts/UptimeTab'));

const tabOf = (value: string | null): InstanceTab => instanceTabs.find((t) => t.id === value)?.id ?? 'overview';

export function InstancePage() {
  const { id = '' } = useParams();
  const me = useMe();
  const toast = useToast();
  const navigate = useNavigate();
  const now = useNow(1000);
  const queryClient = useQueryClient();
  const loaded = useQuery(instanceQuery(id));
  const jobs = useQuery(jobsQuery({ target: id, limit: 10 }));
  const orgs = useQuery(organizationsQuery());
  // Only whether the project has a production instance is asked of it: its few, not every instance.
  const projectInstances = useQuery(projectInstancesQuery(loaded.data?.projectId ?? ''));
  const usage = useQuery({
    ...usageQuery(loaded.data?.organizationId ?? ''),
    enabled: Boolean(loaded.data?.organizationId),
  });
  // Kept current by the instance events (useLiveInstanceCache below).
  const instance = loaded.data;
  const [action, setAction] = useState<Action | null>(null);
  const [activeJob, setActiveJob] = useState<Job | null>(null);
  const [revealing, setRevealing] = useState(false);
  const [sendingAccess, setSendingAccess] = useState(false);
  const deletingRef = useRef(false);
  const [params, setParams] = useSearchParams();
  const tab = tabOf(params.get('tab'));
  // A tab visited once stays mounted (hidden): the progress of a job started there goes on.
  const [visited, setVisited] = useState<ReadonlySet<InstanceTab>>(() => new Set([tab]));
  const [jobsEnded, setJobsEnded] = useState(0);
  // The jobs that hold the instance (a backup's upload does not): they, not any job, disable its actions.
  const holds = useInstanceHolds(id, activeJob);
  // The Domains tab exists only where Marina runs the edge proxy (MARINA_BASE_DOMAIN).
  const edge = useEdgeEnabled(id);

  function chooseTab(next: InstanceTab) {
    setVisited((all) => new Set(all).add(next));
    setParams(next === 'overview' ? {} : { tab: next }, { replace: true });
  }

  // A job already running for this instance (started elsewhere) is followed here too.
  useEffect(() => {
    const running = jobs.data?.find((j) => !isJobFinished(j.status));
    if (running) setActiveJob((current) => (current && !isJobFinished(current.status) ? current : running));
  }, [jobs.data]);

  const live = useLiveInstanceCache((removed) => {
    if (removed !== id || deletingRef.current) return;
    toast.success('This instance was deleted.');
    navigate('/instances', { replace: true });
  });

  // A lost node's instance (unavailable) has no container to measure until it is back or recovered.
  const statsWanted = instance && !['provisioning', 'deleting', 'failed', 'unavailable'].includes(instance.status);
  const stats = useStatsOf(statsWanted ? [id] : [], STATS_EVERY_MS, 1, instance?.status)[id];
  const logSource = useInstanceLogSource(id, instance?.name ?? 'Instance');

  const back = (
    <Link className="back-link" to="/instances">
      <ArrowLeftIcon />
      Instances
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

  const org = orgs.data?.find((o) => o.id === instance.organizationId);
  // What the role may do on an instance of this stage: the one table, through `/me`.
  const may = (permission: Permission) => can(me, instance.organizationId, permission, instance.stage);
  const operate = may('instance.operate');
  // A repository reaches every instance of the project: with a production one among them, it is production's call.
  const projectHasProduction = (projectInstances.data ?? []).some(
    (i) => i.projectId === instance.projectId && i.stage === 'production',
  );
  const manageRepositories = can(
    me,
    instance.organizationId,
    'repository.manage',
    projectHasProduction ? 'production' : instance.stage,
  );
  // A suspended organization's instances do not start; the button says why.
  const startRefusal = usage.data && !usage.data.can.start.ok ? usage.data.can.start.reason : null;
  const jobRunning = activeJob !== null && !isJobFinished(activeJob.status);
  const held = holds ? holds.length > 0 : jobRunning;
  const busy = held || ['provisioning', 'deleting', 'restoring'].includes(instance.status);

  function ended(job: Job) {
    setActiveJob(job);
    setJobsEnded((n) => n + 1);
    if (instance) void invalidateInstance(queryClient, instance);
    const verb = actionVerb[(job.kind.split('.')[1] ?? '') as Action];
    if (job.status === 'succeeded') {
      if (job.kind === 'instance.undo_restore') {
        toast.success(`The restore of ${instance?.name ?? 'the instance'} was undone.`);
        return;
      }
      if (job.kind === 'instance.delete') {
        toast.success(`${instance?.name ?? 'The instance'} was deleted.`);
        navigate('/instances', { replace: true });
        return;
      }
      const moved = moveOutcome(job);
      toast.success(moved ?? (verb ? `${instance?.name} ${verb.done}.` : `${jobKindLabel(job.kind)} finished.`));
    } else if (job.status === 'failed') {
      deletingRef.current = false;
      toast.error(`${jobKindLabel(job.kind)} failed: ${job.error?.message.split('\n')[0] ?? 'see the job'}`);
    }
  }

  /** A job started from this page's header or notices: its card follows it here. */
  function startedHere(job: Job) {
    setActiveJob(job);
    void queryClient.invalidateQueries({ queryKey: queryKeys.jobs.all });
  }

  /** A job started in a tab ended: the recent jobs, the instance and the other tabs may have changed. */
  function tabJobEnded() {
    setJobsEnded((n) => n + 1);
    if (instance) void invalidateInstance(queryClient, instance);
  }

  const actionButton = (a: Action, allowed: boolean, className = 'btn btn-secondary', refusal?: string | null) => (
    <button
      type="button"
      className={className}
      data-permission="instance.operate"
      disabled={busy || !allowed || Boolean(refusal)}
      title={busy ? (heldTitle(holds) ?? `Disabled while the instance is ${instance.status}`) : (refusal ?? undefined)}
      onClick={() => setAction(a)}
    >
      {actionVerb[a].label}
    </button>
  );
  const uptime =
    instance.startedAt && isRunning(instance) ? formatDuration(secondsSince(instance.startedAt, now)) : null;
  // A move's card stays once it succeeded: it says how long the instance was down.
  const move = activeJob?.kind === 'instance.move';
  const showJob = activeJob && (!isJobFinished(activeJob.status) || activeJob.status !== 'succeeded' || move);
  // What the last restore or clone over the instance replaced, while it is kept.
  const undo = instance.undo && Date.parse(instance.undo.until) > now ? instance.undo : null;

  return (
    <>
      {back}
      <PageHeader
        title={
          <span className="title-with-badge">
            {instance.name}
            <InstanceStatusBadge instance={instance} />
            <StageBadge stage={instance.stage} />
            <LiveIndicator state={live} />
          </span>
        }
        subtitle={
          <>
            {org ? `${org.name} · ` : ''}
            <ProjectLink projectId={instance.projectId} /> · Odoo {instance.odooVersion}
            {instance.url ? (
              <>
                {' · '}
                <a className="external-link" href={instance.url} target="_blank" rel="noreferrer">
                  {instance.url}
                  <ExternalIcon width={12} height={12} />
                </a>
              </>
            ) : null}
            {instance.statusDetail ? <span className="status-detail-line">{instance.statusDetail}</span> : null}
          </>
        }
        actions={
          operate ? (
            <div className="instance-actions">
              {actionButton('start', canStart.includes(instance.status), undefined, startRefusal)}
              {actionButton('stop', canStop.includes(instance.status))}
              {actionButton('restart', canRestart.includes(instance.status))}
              {actionButton('delete', !cannotDelete.includes(instance.status), 'btn btn-secondary btn-danger-text')}
              <MoveInstanceButton
                instance={instance}
                busyTitle={busy ? (heldTitle(holds) ?? `Disabled while the instance is ${instance.status}`) : undefined}
                onStarted={startedHere}
              />
            </div>
          ) : null
        }
      />
      {operate ? (
        <InstanceHoldReason holds={holds} status={instance.status} actions="Start, Stop, Restart and Delete" />
      ) : null}
      {showJob && activeJob ? (
        <JobProgress
          key={activeJob.id}
          job={activeJob}
          onEnded={ended}
          detailed={move}
          extra={moveOutcome(activeJob)}
          onDismiss={move ? () => setActiveJob(null) : undefined}
        />
      ) : null}
      <NodeRecovery
        instance={instance}
        now={now}
        disabledTitle={held ? (heldTitle(holds) ?? 'Disabled while a job runs for the instance') : undefined}
        onStarted={startedHere}
      />
      {undo ? (
        <UndoNotice
          instance={instance}
          undo={undo}
          now={now}
          canUndo={may('backup.manage')}
          disabledTitle={busy ? (heldTitle(holds) ?? `Disabled while the instance is ${instance.status}`) : undefined}
          onStarted={startedHere}
        />
      ) : null}
      <div className="stats stats-5">
        <StatCard label="Database">
          <span className="stat-value stat-value-small mono">{instance.dbName}</span>
        </StatCard>
        <StatCard label="Admin login">
          <span className="stat-value stat-value-small" title={instance.adminLogin}>
            {instance.adminLogin}
          </span>
          {may('instance.credentials') ? (
            <button
              type="button"
              className="btn btn-ghost btn-small stat-action"
              data-permission="instance.credentials"
              onClick={() => setRevealing(true)}
            >
              <KeyIcon width={14} height={14} />
              Reveal credentials
            </button>
          ) : null}
          {may('instance.credentials') ? (
            <button
              type="button"
              className="btn btn-ghost btn-small stat-action"
              data-permission="instance.credentials"
              onClick={() => setSendingAccess(true)}
            >
              <MailIcon width={14} height={14} />
              Send access
            </button>
          ) : null}
        </StatCard>
        <StatCard label="Created">
          <span className="stat-value stat-value-small" title={formatDateTime(instance.createdAt)}>
            {formatDate(instance.createdAt)}
          </span>
          <span className="stat-note">{formatRelative(instance.createdAt, new Date(now))}</span>
        </StatCard>
        <StatCard label="Uptime" testId="stat-uptime">
          <span className="stat-value stat-value-small tabular">{uptime ?? '—'}</span>
          <span className="stat-note">{uptime ? 'since the last start' : 'not running'}</span>
        </StatCard>
        <StatCard label="Size">
          <span className="stat-value stat-value-small">
            {instance.cpus} CPU · {formatMemoryMb(instance.memoryMb)}
          </span>
          <span className="stat-note">
            {instance.language}
            {instance.country ? ` · ${instance.country}` : ''}
          </span>
        </StatCard>
      </div>
      <div className="tabs" role="tablist" aria-label="Instance sections">
        {instanceTabs
          .filter((t) => t.id !== 'domains' || edge || tab === 'domains')
          // The caught mail holds Odoo's reset links: it is shown to those who may see credentials.
          .filter((t) => t.id !== 'mail' || may('instance.credentials'))
          .map((t) => (
            <button
              key={t.id}
              type="button"
              role="tab"
              id={`tab-${t.id}`}
              aria-selected={tab === t.id}
              aria-controls={`panel-${t.id}`}
              className={tab === t.id ? 'tab active' : 'tab'}
              onClick={() => chooseTab(t.id)}
            >
              {t.icon}
              {t.label}
            </button>
          ))}
      </div>
      {tab === 'overview' ? (
        <div role="tabpanel" id="panel-overview" aria-labelledby="tab-overview">
          {statsWanted ? <StatsCards instance={instance} stats={stats} /> : null}
          {may('instance.logs') ? (
            <section className="section" aria-label="Logs" data-permission="instance.logs">
              <div className="section-head">
                <h2>Logs</h2>
                <Link to={`/instances/${instance.id}/logs`}>Open full log</Link>
              </div>
              <LogViewer source={logSource} variant="embedded" />
            </section>
          ) : null}
          <section className="card card-flush">
            <header className="card-header">
              <h2>Recent jobs</h2>
              <Link to={`/jobs?instance=${instance.id}`}>All jobs</Link>
            </header>
            {jobs.error ? (
              <div className="card-body">
                <Alert kind="error">{errorMessage(jobs.error)}</Alert>
              </div>
            ) : null}
            {jobs.data && jobs.data.length === 0 ? (
              <EmptyState icon={<TerminalIcon width={28} height={28} />} title="No jobs yet" />
            ) : null}
            {jobs.data && jobs.data.length > 0 ? (
              <JobsTable jobs={jobs.data} showTarget={false} label="Recent jobs" />
            ) : null}
          </section>
        </div>
      ) : null}
      {tab === 'metrics' ? (
        <div role="tabpanel" id="panel-metrics" aria-labelledby="tab-metrics">
          <Suspense fallback={<Loading label="Loading the charts…" />}>
            <MetricsTab instanceId={instance.id} />
          </Suspense>
        </div>
      ) : null}
      {tab === 'uptime' ? (
        <div role="tabpanel" id="panel-uptime" aria-labelledby="tab-uptime">
          <Suspense fallback={<Loading label="Loading the uptime…" />}>
            <UptimeTab instance={instance} />
          </Suspense>
        </div>
      ) : null}
      {tab === 'backups' || visited.has('backups') ? (
        <div role="tabpanel" id="panel-backups" aria-labelledby="tab-backups" hidden={tab !== 'backups'}>
          <BackupsTab instance={instance} isAdmin={may('backup.manage')} />
        </div>
      ) : null}
      {tab === 'repositories' || visited.has('repositories') ? (
        <div role="tabpanel" id="panel-repositories" aria-labelledby="tab-repositories" hidden={tab !== 'repositories'}>
          <RepositoriesTab
            instance={instance}
            isAdmin={manageRepositories}
            refreshKey={jobsEnded}
            onJobEnded={tabJobEnded}
          />
        </div>
      ) : null}
      {tab === 'modules' || visited.has('modules') ? (
        <div role="tabpanel" id="panel-modules" aria-labelledby="tab-modules" hidden={tab !== 'modules'}>
          <ModulesTab instance={instance} isAdmin={operate} onJobEnded={tabJobEnded} />
        </div>
      ) : null}
      {tab === 'domains' || visited.has('domains') ? (
        <div role="tabpanel" id="panel-domains" aria-labelledby="tab-domains" hidden={tab !== 'domains'}>
          <DomainsTab instance={instance} isAdmin={may('domain.manage')} />
        </div>
      ) : null}
      {tab === 'mail' || visited.has('mail') ? (
        <div role="tabpanel" id="panel-mail" aria-labelledby="tab-mail" hidden={tab !== 'mail'}>
          <MailTab instance={instance} isAdmin={operate} />
        </div>
      ) : null}
      {action ? (
        <ActionDialog
          action={action}
          instance={instance}
          onClose={() => setAction(null)}
          onStarted={(job) => {
            if (action === 'delete') deletingRef.current = true;
            startedHere(job);
          }}
        />
      ) : null}
      {revealing ? <CredentialsModal instance={instance} onClose={() => setRevealing(false)} /> : null}
      {sendingAccess ? <SendAccessModal instance={instance} onClose={() => setSendingAccess(false)} /> : null}
    </>
  );
}

import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError, errorMessage } from '../api/errors';
import type { Instance, InstanceStats, Job, RevealedCredentials } from '../api/types';
import { Alert } from '../components/Alert';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { CopyField } from '../components/CopyField';
import { EmptyState, Loading } from '../components/EmptyState';
import {
  ActivityIcon,
  ArchiveIcon,
  ArrowLeftIcon,
  BranchIcon,
  ExternalIcon,
  KeyIcon,
  PuzzleIcon,
  TerminalIcon,
} from '../components/icons';
import { JobProgress } from '../components/JobProgress';
import { LogViewer } from '../components/logs/LogViewer';
import { Modal } from '../components/Modal';
import { PageHeader } from '../components/PageHeader';
import { ProgressBar } from '../components/ProgressBar';
import { InstanceStatusBadge, StageBadge } from '../components/StatusBadges';
import { useToast } from '../components/Toast';
import { formatDate, formatDateTime, formatRelative, formatTime } from '../format';
import { useInstanceEvents, useNow, useStatsOf } from '../live';
import {
  formatBytes,
  formatDuration,
  formatMemoryMb,
  formatPercent,
  isJobFinished,
  isRunning,
  jobKindLabel,
  secondsSince,
} from '../operate';
import { useMe } from '../session/SessionContext';
import { useLoader } from '../useLoader';
import { BackupsTab } from './backups/BackupsTab';
import { LiveIndicator } from './InstancesPage';
import { JobsTable } from './JobsPage';
import { useInstanceLogSource } from './LogsPages';
import { ModulesTab } from './modules/ModulesTab';
import { RepositoriesTab } from './repositories/RepositoriesTab';

const STATS_EVERY_MS = 10_000;

const instanceTabs = [
  { id: 'overview', label: 'Overview', icon: <ActivityIcon /> },
  { id: 'backups', label: 'Backups', icon: <ArchiveIcon /> },
  { id: 'repositories', label: 'Repositories', icon: <BranchIcon /> },
  { id: 'modules', label: 'Modules', icon: <PuzzleIcon /> },
] as const;
type InstanceTab = (typeof instanceTabs)[number]['id'];

const tabOf = (value: string | null): InstanceTab => instanceTabs.find((t) => t.id === value)?.id ?? 'overview';

type Action = 'start' | 'stop' | 'restart' | 'delete';

const actionVerb: Record<Action, { label: string; doing: string; done: string }> = {
  start: { label: 'Start', doing: 'Starting', done: 'started' },
  stop: { label: 'Stop', doing: 'Stopping', done: 'stopped' },
  restart: { label: 'Restart', doing: 'Restarting', done: 'restarted' },
  delete: { label: 'Delete', doing: 'Deleting', done: 'deleted' },
};

const canStart = ['stopped', 'exited', 'missing'];
const canStop = ['running', 'unhealthy', 'starting', 'restarting'];
const canRestart = ['running', 'unhealthy', 'exited'];
const cannotDelete = ['provisioning', 'deleting', 'restoring'];

function ActionDialog({
  action,
  instance,
  onClose,
  onStarted,
}: {
  action: Action;
  instance: Instance;
  onClose(): void;
  onStarted(job: Job): void;
}) {
  const [typed, setTyped] = useState('');
  const production = instance.stage === 'production';
  const needsName = production && (action === 'stop' || action === 'delete');
  const path = { id: instance.id };

  async function run() {
    const confirm = needsName ? typed.trim() : undefined;
    let answer: { job: Job };
    if (action === 'delete') {
      answer = await call(
        api.DELETE('/api/v1/instances/{id}', { params: { path, query: confirm ? { confirm } : {} } }),
      );
    } else if (action === 'stop') {
      answer = await call(
        api.POST('/api/v1/instances/{id}/stop', { params: { path }, body: confirm ? { confirm } : {} }),
      );
    } else if (action === 'start') {
      answer = await call(api.POST('/api/v1/instances/{id}/start', { params: { path }, body: {} }));
    } else {
      answer = await call(api.POST('/api/v1/instances/{id}/restart', { params: { path }, body: {} }));
    }
    onStarted(answer.job);
  }

  const title = `${actionVerb[action].label} ${instance.name}?`;
  const text: Record<Action, string> = {
    start: 'Marina starts the Odoo container and waits until Odoo answers.',
    stop: 'Odoo stops: users cannot work in this instance until it is started again. Nothing is deleted.',
    restart: 'Odoo restarts: users are disconnected for a few seconds.',
    delete:
      'This removes the container, the filestore, the database and its role. It cannot be undone: make a backup first if you may need the data.',
  };
  return (
    <ConfirmDialog
      title={title}
      confirmLabel={`${actionVerb[action].label} instance`}
      tone={action === 'delete' || action === 'stop' ? 'danger' : 'primary'}
      confirmDisabled={needsName && typed.trim() !== instance.name}
      onClose={onClose}
      onConfirm={run}
    >
      <p>{text[action]}</p>
      {needsName ? (
        <div className="field confirm-name">
          <label htmlFor="confirm-name">
            This is a production instance. Type <strong className="mono">{instance.name}</strong> to confirm.
          </label>
          <input
            id="confirm-name"
            className="mono"
            autoComplete="off"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
          />
        </div>
      ) : null}
    </ConfirmDialog>
  );
}

function CredentialsModal({ instance, onClose }: { instance: Instance; onClose(): void }) {
  const [credentials, setCredentials] = useState<RevealedCredentials | null>(null);
  const [error, setError] = useState<unknown>(null);
  const id = instance.id;
  useEffect(() => {
    call(api.POST('/api/v1/instances/{id}/credentials', { params: { path: { id } } })).then(
      (answer) => setCredentials(answer.credentials),
      setError,
    );
  }, [id]);
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <Modal
      title="Instance credentials"
      description={`Who can sign in to ${instance.name} as its administrator. Revealing them is recorded in the audit log.`}
      onClose={onClose}
      width="wide"
    >
      {forbidden ? (
        <Alert kind="info" title="Only admins can see these">
          Organization owners and admins, and platform administrators, can reveal an instance’s passwords. Ask one of
          them.
        </Alert>
      ) : error ? (
        <Alert kind="error">{errorMessage(error)}</Alert>
      ) : null}
      {!credentials && !error ? <Loading /> : null}
      {credentials ? (
        <div className="credentials">
          {credentials.url ? (
            <>
              <span className="stat-label">Address</span>
              <CopyField label="Instance address" value={credentials.url} />
            </>
          ) : null}
          <span className="stat-label">Administrator login</span>
          <CopyField label="Administrator login" value={credentials.login} />
          <span className="stat-label">Administrator password</span>
          <CopyField label="Administrator password" value={credentials.password} />
          <span className="stat-label">Master password</span>
          <CopyField label="Master password" value={credentials.masterPassword} />
          <p className="field-hint">The master password manages Odoo databases (backup, restore); keep it private.</p>
        </div>
      ) : null}
      <div className="form-actions">
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

function StatCard({ label, children, testId }: { label: string; children: React.ReactNode; testId?: string }) {
  return (
    <div className="stat card" data-testid={testId}>
      <span className="stat-label">{label}</span>
      {children}
    </div>
  );
}

function StatsCards({ instance, stats }: { instance: Instance; stats: InstanceStats | undefined }) {
  const memoryShare =
    stats?.memoryBytes && stats.memoryLimitBytes ? (stats.memoryBytes / stats.memoryLimitBytes) * 100 : null;
  // A sample taken before a stop must not show a stopped instance as busy.
  const running = (stats?.running ?? false) && isRunning(instance);
  return (
    <section className="section" aria-label="Resource use">
      <div className="section-head">
        <h2>Resource use</h2>
        <span className="muted">
          {stats ? `Updated ${formatTime(stats.at)} · every ${STATS_EVERY_MS / 1000} s` : 'Measuring…'}
        </span>
      </div>
      <div className="stats stats-5">
        <StatCard label="CPU" testId="stat-cpu">
          <span className="stat-value tabular">{running ? formatPercent(stats?.cpuPercent) : '—'}</span>
          <span className="stat-note">
            of {instance.cpus} CPU{instance.cpus === 1 ? '' : 's'}
          </span>
        </StatCard>
        <StatCard label="Memory" testId="stat-memory">
          <span className="stat-value tabular">{running ? formatBytes(stats?.memoryBytes) : '—'}</span>
          {running && memoryShare !== null ? (
            <ProgressBar
              value={memoryShare}
              label="Memory used"
              tone={memoryShare > 90 ? 'red' : memoryShare > 75 ? 'amber' : 'brand'}
            />
          ) : null}
          <span className="stat-note">
            of {stats?.memoryLimitBytes ? formatBytes(stats.memoryLimitBytes) : formatMemoryMb(instance.memoryMb)}
          </span>
        </StatCard>
        <StatCard label="Network" testId="stat-network">
          <span className="stat-value stat-value-small tabular">
            ↓ {running ? formatBytes(stats?.networkRxBytes) : '—'}
          </span>
          <span className="stat-value stat-value-small tabular">
            ↑ {running ? formatBytes(stats?.networkTxBytes) : '—'}
          </span>
        </StatCard>
        <StatCard label="Database" testId="stat-database">
          <span className="stat-value tabular">{formatBytes(stats?.databaseBytes)}</span>
          <span className="stat-note mono">{instance.dbName}</span>
        </StatCard>
        <StatCard label="Filestore" testId="stat-filestore">
          <span className="stat-value tabular">{running ? formatBytes(stats?.filestoreBytes) : '—'}</span>
          <span className="stat-note">attachments and assets</span>
        </StatCard>
      </div>
    </section>
  );
}

export function InstancePage() {
  const { id = '' } = useParams();
  const me = useMe();
  const toast = useToast();
  const navigate = useNavigate();
  const now = useNow(1000);
  const loaded = useLoader(
    async () => (await call(api.GET('/api/v1/instances/{id}', { params: { path: { id } } }))).instance,
    `instance:${id}`,
  );
  const jobs = useLoader(
    async () => (await call(api.GET('/api/v1/jobs', { params: { query: { target: id, limit: 10 } } }))).jobs,
    `jobs:${id}`,
  );
  const orgs = useLoader(async () => (await call(api.GET('/api/v1/organizations'))).organizations, 'organizations');
  const [instance, setInstance] = useState<Instance | undefined>(undefined);
  const [action, setAction] = useState<Action | null>(null);
  const [activeJob, setActiveJob] = useState<Job | null>(null);
  const [revealing, setRevealing] = useState(false);
  const deletingRef = useRef(false);
  const [params, setParams] = useSearchParams();
  const tab = tabOf(params.get('tab'));
  // A tab visited once stays mounted (hidden): the progress of a job started there goes on.
  const [visited, setVisited] = useState<ReadonlySet<InstanceTab>>(() => new Set([tab]));
  const [jobsEnded, setJobsEnded] = useState(0);

  function chooseTab(next: InstanceTab) {
    setVisited((all) => new Set(all).add(next));
    setParams(next === 'overview' ? {} : { tab: next }, { replace: true });
  }

  useEffect(() => {
    if (loaded.data) setInstance(loaded.data);
  }, [loaded.data]);

  // A job already running for this instance (started elsewhere) is followed here too.
  useEffect(() => {
    const running = jobs.data?.find((j) => !isJobFinished(j.status));
    if (running) setActiveJob((current) => (current && !isJobFinished(current.status) ? current : running));
  }, [jobs.data]);

  const live = useInstanceEvents({
    onInstance: (changed) => {
      if (changed.id === id) setInstance(changed);
    },
    onRemoved: (removed) => {
      if (removed !== id || deletingRef.current) return;
      toast.success('This instance was deleted.');
      navigate('/instances', { replace: true });
    },
    onReconnected: () => void loaded.reload(),
  });

  const statsWanted = instance && !['provisioning', 'deleting', 'failed'].includes(instance.status);
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
  const role = me.organizations.find((o) => o.id === instance.organizationId)?.role;
  const isAdmin = me.user.isPlatformAdmin || role === 'owner' || role === 'admin';
  const jobRunning = activeJob !== null && !isJobFinished(activeJob.status);
  const busy = jobRunning || ['provisioning', 'deleting', 'restoring'].includes(instance.status);

  function ended(job: Job) {
    setActiveJob(job);
    setJobsEnded((n) => n + 1);
    void jobs.reload();
    void loaded.reload();
    const verb = actionVerb[(job.kind.split('.')[1] ?? '') as Action];
    if (job.status === 'succeeded') {
      if (job.kind === 'instance.delete') {
        toast.success(`${instance?.name ?? 'The instance'} was deleted.`);
        navigate('/instances', { replace: true });
        return;
      }
      toast.success(verb ? `${instance?.name} ${verb.done}.` : `${jobKindLabel(job.kind)} finished.`);
    } else if (job.status === 'failed') {
      deletingRef.current = false;
      toast.error(`${jobKindLabel(job.kind)} failed: ${job.error?.message.split('\n')[0] ?? 'see the job'}`);
    }
  }

  /** A job started in a tab ended: the recent jobs, the instance and the other tabs may have changed. */
  function tabJobEnded() {
    setJobsEnded((n) => n + 1);
    void jobs.reload();
    void loaded.reload();
  }

  const actionButton = (a: Action, allowed: boolean, className = 'btn btn-secondary') => (
    <button type="button" className={className} disabled={busy || !allowed} onClick={() => setAction(a)}>
      {actionVerb[a].label}
    </button>
  );
  const uptime =
    instance.startedAt && isRunning(instance) ? formatDuration(secondsSince(instance.startedAt, now)) : null;
  const showJob = activeJob && (!isJobFinished(activeJob.status) || activeJob.status !== 'succeeded');

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
            {org ? `${org.name} · ` : ''}Odoo {instance.odooVersion}
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
          isAdmin ? (
            <div className="instance-actions">
              {actionButton('start', canStart.includes(instance.status))}
              {actionButton('stop', canStop.includes(instance.status))}
              {actionButton('restart', canRestart.includes(instance.status))}
              {actionButton('delete', !cannotDelete.includes(instance.status), 'btn btn-secondary btn-danger-text')}
            </div>
          ) : null
        }
      />
      {showJob && activeJob ? <JobProgress key={activeJob.id} job={activeJob} onEnded={ended} /> : null}
      <div className="stats stats-5">
        <StatCard label="Database">
          <span className="stat-value stat-value-small mono">{instance.dbName}</span>
        </StatCard>
        <StatCard label="Admin login">
          <span className="stat-value stat-value-small" title={instance.adminLogin}>
            {instance.adminLogin}
          </span>
          {isAdmin ? (
            <button type="button" className="btn btn-ghost btn-small stat-action" onClick={() => setRevealing(true)}>
              <KeyIcon width={14} height={14} />
              Reveal credentials
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
        {instanceTabs.map((t) => (
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
          <section className="section" aria-label="Logs">
            <div className="section-head">
              <h2>Logs</h2>
              <Link to={`/instances/${instance.id}/logs`}>Open full log</Link>
            </div>
            <LogViewer source={logSource} variant="embedded" />
          </section>
          <section className="card card-flush">
            <header className="card-header">
              <h2>Recent jobs</h2>
              <Link to="/jobs">All jobs</Link>
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
      {tab === 'backups' || visited.has('backups') ? (
        <div role="tabpanel" id="panel-backups" aria-labelledby="tab-backups" hidden={tab !== 'backups'}>
          <BackupsTab instance={instance} isAdmin={isAdmin} refreshKey={jobsEnded} />
        </div>
      ) : null}
      {tab === 'repositories' || visited.has('repositories') ? (
        <div role="tabpanel" id="panel-repositories" aria-labelledby="tab-repositories" hidden={tab !== 'repositories'}>
          <RepositoriesTab instance={instance} isAdmin={isAdmin} refreshKey={jobsEnded} onJobEnded={tabJobEnded} />
        </div>
      ) : null}
      {tab === 'modules' || visited.has('modules') ? (
        <div role="tabpanel" id="panel-modules" aria-labelledby="tab-modules" hidden={tab !== 'modules'}>
          <ModulesTab instance={instance} isAdmin={isAdmin} refreshKey={jobsEnded} onJobEnded={tabJobEnded} />
        </div>
      ) : null}
      {action ? (
        <ActionDialog
          action={action}
          instance={instance}
          onClose={() => setAction(null)}
          onStarted={(job) => {
            if (action === 'delete') deletingRef.current = true;
            setActiveJob(job);
            void jobs.reload();
          }}
        />
      ) : null}
      {revealing ? <CredentialsModal instance={instance} onClose={() => setRevealing(false)} /> : null}
    </>
  );
}

import { useCallback, useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import type { Instance, Job, Repository } from '../../api/types';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { BranchIcon, DownloadIcon, RefreshIcon, TrashIcon } from '../../components/icons';
import { JobProgress } from '../../components/JobProgress';
import { useToast } from '../../components/Toast';
import { isJobFinished, jobKindLabel } from '../../operate';
import { CheckoutFacts } from './CheckoutFacts';
import { CheckoutBadges, LastUpdate, SettingSwitch, UpdateFailure, UpdateResult } from './parts';
import { RepositoryKeys } from './RepositoryKeys';

const BUSY_STATUSES = ['provisioning', 'deleting', 'restoring'];

/** One repository as this instance has it: status, HEAD, update with its progress and result, settings. */
export function RepositoryCard({
  repository,
  instance,
  isAdmin,
  refreshKey,
  onRemoved,
  onJobEnded,
}: {
  repository: Repository;
  instance: Instance;
  isAdmin: boolean;
  refreshKey: number;
  onRemoved(jobs: Job[]): void;
  onJobEnded(job: Job): void;
}) {
  const toast = useToast();
  const id = repository.id;
  const [described, setDescribed] = useState<Repository | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [checking, setChecking] = useState(false);
  const [followed, setFollowed] = useState<Job | null>(null);
  const [finished, setFinished] = useState<Job | null>(null);
  const [lastJob, setLastJob] = useState<Job | null>(null);
  const [removing, setRemoving] = useState(false);

  const describe = useCallback(
    async (fetch: boolean) => {
      // Fetching runs git on the server: a POST of its own, answering the same status.
      const params = { path: { id } };
      const answer = await call(
        fetch
          ? api.POST('/api/v1/repositories/{id}/fetch', { params })
          : api.GET('/api/v1/repositories/{id}', { params }),
      );
      setDescribed(answer.repository);
      setProblem(null);
    },
    [id],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey is there to read the folders again.
  useEffect(() => {
    describe(false).catch(setProblem);
  }, [describe, refreshKey]);

  const view = described ?? repository;
  const checkout = view.checkouts.find((c) => c.instanceId === instance.id);
  const lastJobId = checkout?.lastJobId ?? null;

  // The last update of this checkout: followed live when it still runs (e.g. the clone after "Add").
  useEffect(() => {
    if (!lastJobId) return;
    let stale = false;
    call(api.GET('/api/v1/jobs/{id}', { params: { path: { id: lastJobId } } })).then(
      ({ job }) => {
        if (stale) return;
        setLastJob(job);
        // Only this repository's own job is followed here; another job (one that holds the instance)
        // is linked from the checkout's error, which says what it means for this repository.
        if (!isJobFinished(job.status) && job.kind === 'repository.update') setFollowed((current) => current ?? job);
      },
      () => undefined,
    );
    return () => {
      stale = true;
    };
  }, [lastJobId]);

  const running = followed !== null && !isJobFinished(followed.status) && finished?.id !== followed.id;
  const busy = running || BUSY_STATUSES.includes(instance.status);

  async function checkForUpdates() {
    setChecking(true);
    try {
      await describe(true);
    } catch (caught) {
      setProblem(caught);
    } finally {
      setChecking(false);
    }
  }

  async function update() {
    try {
      const { jobs } = await call(
        api.POST('/api/v1/repositories/{id}/pull', { params: { path: { id } }, body: { instanceId: instance.id } }),
      );
      const job = jobs[0];
      if (job) {
        setFinished(null);
        setFollowed(job);
      }
    } catch (caught) {
      toast.error(errorMessage(caught));
    }
  }

  function ended(job: Job) {
    setFinished(job);
    setLastJob(job);
    describe(false).catch(setProblem);
    onJobEnded(job);
    if (job.kind !== 'repository.update') return;
    if (job.status === 'succeeded') toast.success(`${view.name} is updated.`);
    else if (job.status === 'failed')
      toast.error(`The update of ${view.name} failed: ${job.error?.message.split('\n')[0]}`);
  }

  async function change(body: { autoRestart?: boolean; autoUpgrade?: boolean; branches?: Record<string, string> }) {
    const answer = await call(api.PATCH('/api/v1/repositories/{id}', { params: { path: { id } }, body }));
    setDescribed((current) => ({ ...answer.repository, checkouts: current?.checkouts ?? answer.repository.checkouts }));
    const job = answer.jobs.find((j) => j.target?.id === instance.id) ?? answer.jobs[0];
    if (job) {
      setFinished(null);
      setFollowed(job);
    }
  }

  async function toggle(body: { autoRestart?: boolean; autoUpgrade?: boolean }) {
    try {
      await change(body);
    } catch (caught) {
      toast.error(errorMessage(caught));
    }
  }

  async function remove() {
    const { jobs } = await call(api.DELETE('/api/v1/repositories/{id}', { params: { path: { id } } }));
    toast.success(`${view.name} was removed; the instances restart without it.`);
    onRemoved(jobs);
  }

  return (
    <section
      className="card repo-card"
      aria-label={`Repository ${view.name}`}
      data-repository={view.name}
      data-testid="repository-card"
    >
      <header className="card-header repo-head">
        <div className="repo-title">
          <div className="repo-name">
            <BranchIcon width={18} height={18} />
            <h3>{view.name}</h3>
            {checkout ? <CheckoutBadges checkout={checkout} /> : null}
          </div>
          <p className="mono repo-url" title={view.url}>
            {view.url}
            {view.subfolder ? <span className="muted"> · {view.subfolder}/</span> : null}
          </p>
        </div>
        <div className="page-actions">
          <button
            type="button"
            className="btn btn-secondary"
            onClick={checkForUpdates}
            disabled={checking || !checkout?.commit}
          >
            <RefreshIcon />
            {checking ? 'Checking…' : 'Check for updates'}
          </button>
          {isAdmin ? (
            <button type="button" className="btn btn-primary" onClick={update} disabled={busy}>
              <DownloadIcon />
              Update
            </button>
          ) : null}
        </div>
      </header>
      <div className="card-body repo-body">
        {problem ? <Alert kind="error">{errorMessage(problem)}</Alert> : null}
        {followed ? (
          <JobProgress
            key={followed.id}
            job={followed}
            title={
              followed.kind === 'repository.update'
                ? `Update of ${view.name}`
                : `${jobKindLabel(followed.kind)}: ${view.name} is cloned when it has ended`
            }
            onEnded={ended}
            detailed={finished?.id !== followed.id || finished.status !== 'succeeded'}
            extra={finished?.id === followed.id ? <UpdateResult job={finished} /> : undefined}
            onDismiss={() => setFollowed(null)}
            label="Update progress"
          />
        ) : lastJob?.status === 'succeeded' && lastJob.kind === 'repository.update' ? (
          <LastUpdate job={lastJob} />
        ) : null}
        {checkout?.error && !followed ? (
          <UpdateFailure job={lastJob} error={checkout.error} cloned={checkout.status !== 'failed'} />
        ) : null}
        {checkout ? (
          <CheckoutFacts
            repository={view}
            checkout={checkout}
            instanceId={instance.id}
            canEdit={isAdmin && !busy}
            onBranch={(branch) => change({ branches: { [instance.id]: branch } })}
          />
        ) : (
          <p className="muted">
            Not checked out on {instance.name} yet: <strong>Update</strong> clones it.
          </p>
        )}
        <div className="repo-settings">
          <SettingSwitch
            label="Auto-restart"
            hint="Restart Odoo when an update brings new code."
            checked={view.autoRestart}
            disabled={!isAdmin}
            onChange={(next) => toggle({ autoRestart: next })}
          />
          <SettingSwitch
            label="Auto-upgrade"
            hint="Upgrade the installed modules whose code changed (after a safety backup)."
            checked={view.autoUpgrade}
            disabled={!isAdmin}
            onChange={(next) => toggle({ autoUpgrade: next })}
          />
        </div>
        <div className="repo-foot">
          <details className="repo-setup">
            <summary>Deploy key and push to deploy</summary>
            <RepositoryKeys repository={view} />
          </details>
          {isAdmin ? (
            <button
              type="button"
              className="btn btn-ghost btn-danger-text btn-small"
              onClick={() => setRemoving(true)}
              disabled={busy}
            >
              <TrashIcon width={14} height={14} />
              Remove
            </button>
          ) : null}
        </div>
      </div>
      {removing ? (
        <ConfirmDialog
          title={`Remove ${view.name}?`}
          confirmLabel="Remove repository"
          onConfirm={remove}
          onClose={() => setRemoving(false)}
        >
          <p>
            Every instance of the project restarts without <span className="mono">/mnt/extra-addons/{view.name}</span>
            {view.checkouts.length > 1 ? ` (${view.checkouts.map((c) => c.instanceName).join(', ')})` : ''}. Modules
            installed from it stop working: uninstall them first.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

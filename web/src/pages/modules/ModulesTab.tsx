import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { modulesQuery, queryKeys } from '../../api/queries';
import type { Instance, Job, ModuleChange, ModulePlan } from '../../api/types';
import { Alert } from '../../components/Alert';
import { EmptyState, Loading } from '../../components/EmptyState';
import { PuzzleIcon, RefreshIcon, SearchIcon } from '../../components/icons';
import { JobProgress } from '../../components/JobProgress';
import { useToast } from '../../components/Toast';
import { isJobFinished } from '../../operate';
import { ModulePlanDialog } from './ModulePlanDialog';
import { hasUpdate, isInstallable, isInstalled, ModulesTable } from './ModulesTable';

const SHOWN = 300;
const states = [
  { value: '', label: 'All states' },
  { value: 'installed', label: 'Installed' },
  { value: 'updates', label: 'Update available' },
  { value: 'uninstalled', label: 'Not installed' },
  { value: 'available', label: 'New in a repository' },
  { value: 'to upgrade', label: 'To upgrade' },
  { value: 'to install', label: 'To install' },
  { value: 'to remove', label: 'To remove' },
  { value: 'uninstallable', label: 'Uninstallable' },
];

type Batch = Pick<ModuleChange, 'install' | 'upgrade' | 'uninstall' | 'updateList'>;

/** The Modules tab: the instance's modules from its database, filtered, and changed in batches as jobs. */
export function ModulesTab({
  instance,
  isAdmin,
  onJobEnded,
}: {
  instance: Instance;
  isAdmin: boolean;
  onJobEnded(job: Job): void;
}) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const id = instance.id;
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState('');
  const [state, setState] = useState('');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pending, setPending] = useState<{ batch: Batch; plan: ModulePlan } | null>(null);
  const [planning, setPlanning] = useState(false);
  const [job, setJob] = useState<Job | null>(null);

  useEffect(() => {
    const timer = window.setTimeout(() => setSearch(typed.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [typed]);

  const serverState = state === 'updates' ? 'installed' : state;
  const query = { ...(search ? { search } : {}), ...(serverState ? { state: serverState } : {}) };
  // While a new search runs, the modules of the previous one stay on screen.
  const list = useQuery({ ...modulesQuery(id, query), placeholderData: keepPreviousData });

  const all = list.data ?? [];
  const rows = state === 'updates' ? all.filter(hasUpdate) : all;
  const shown = rows.slice(0, SHOWN);
  const chosen = all.filter((m) => selected.has(m.name));
  const toInstall = chosen.filter(isInstallable).map((m) => m.name);
  const installed = chosen.filter(isInstalled).map((m) => m.name);
  const running = job !== null && !isJobFinished(job.status);
  const updates = all.filter(hasUpdate).length;

  function toggle(name: string, on: boolean) {
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  }

  function toggleAll(on: boolean) {
    setSelected((current) => {
      const next = new Set(current);
      for (const m of shown) {
        if (!isInstalled(m) && !isInstallable(m)) continue;
        if (on) next.add(m.name);
        else next.delete(m.name);
      }
      return next;
    });
  }

  /** Every action asks for the plan first (a dry run), and shows it before anything happens. */
  async function plan(batch: Batch) {
    setPlanning(true);
    try {
      const answer = await call(
        api.POST('/api/v1/instances/{id}/modules', { params: { path: { id } }, body: { ...batch, dryRun: true } }),
      );
      setPending({ batch, plan: answer.plan });
    } catch (caught) {
      toast.error(errorMessage(caught));
    } finally {
      setPlanning(false);
    }
  }

  async function apply(batch: Batch, confirm: string | undefined) {
    const body = { ...batch, ...(confirm ? { confirm } : {}) };
    const answer = await call(api.POST('/api/v1/instances/{id}/modules', { params: { path: { id } }, body }));
    if ('job' in answer && answer.job) setJob(answer.job);
    setSelected(new Set());
  }

  function ended(finished: Job) {
    setJob(finished);
    void queryClient.invalidateQueries({ queryKey: queryKeys.modules.ofInstance(id) });
    onJobEnded(finished);
    if (finished.status === 'succeeded') toast.success('The modules are changed.');
    else if (finished.status === 'failed')
      toast.error(`The module change failed: ${finished.error?.message.split('\n')[0] ?? 'see the job'}`);
  }

  const disabled = running || planning;
  return (
    <div className="modules-tab">
      <div className="section-head backups-head">
        <div>
          <h2>Modules</h2>
          <p className="muted">
            Read from the database of {instance.name}
            {list.data ? ` · ${all.filter(isInstalled).length} installed` : ''}
            {updates > 0 ? ` · ${updates} with an update available` : ''}
          </p>
        </div>
        {isAdmin ? (
          <div className="page-actions">
            <button
              type="button"
              className="btn btn-secondary"
              data-permission="instance.operate"
              disabled={disabled}
              onClick={() => plan({ updateList: true })}
            >
              <RefreshIcon />
              Update apps list
            </button>
          </div>
        ) : null}
      </div>
      {job ? (
        <JobProgress
          key={job.id}
          job={job}
          title="Module changes"
          detailed={job.status !== 'succeeded'}
          onEnded={ended}
          onDismiss={() => setJob(null)}
          label="Module changes progress"
        />
      ) : null}
      <form
        className="card filters filters-compact module-filters"
        aria-label="Module filters"
        onSubmit={(e) => e.preventDefault()}
      >
        <div className="filter filter-search">
          <label htmlFor="module-search">Search</label>
          <div className="input-with-icon">
            <SearchIcon width={16} height={16} />
            <input
              id="module-search"
              type="search"
              placeholder="Name, title, author…"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
            />
          </div>
        </div>
        <div className="filter">
          <label htmlFor="module-state">State</label>
          <select id="module-state" value={state} onChange={(e) => setState(e.target.value)}>
            {states.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
      </form>
      {isAdmin ? (
        <div
          className={`batch-bar${chosen.length > 0 ? ' batch-bar-active' : ''}`}
          role="toolbar"
          aria-label="Batch actions"
        >
          <span className="batch-count" data-testid="batch-count">
            {chosen.length === 0
              ? 'Select modules to install, upgrade or uninstall them.'
              : `${chosen.length} selected`}
          </span>
          <button
            type="button"
            className="btn btn-primary btn-small"
            disabled={disabled || toInstall.length === 0}
            onClick={() => plan({ install: toInstall })}
          >
            Install{toInstall.length > 0 ? ` (${toInstall.length})` : ''}
          </button>
          <button
            type="button"
            className="btn btn-secondary btn-small"
            disabled={disabled || installed.length === 0}
            onClick={() => plan({ upgrade: installed })}
          >
            Upgrade{installed.length > 0 ? ` (${installed.length})` : ''}
          </button>
          <button
            type="button"
            className="btn btn-secondary btn-danger-text btn-small"
            disabled={disabled || installed.length === 0}
            onClick={() => plan({ uninstall: installed })}
          >
            Uninstall{installed.length > 0 ? ` (${installed.length})` : ''}
          </button>
          {chosen.length > 0 ? (
            <button type="button" className="btn btn-ghost btn-small" onClick={() => setSelected(new Set())}>
              Clear
            </button>
          ) : null}
        </div>
      ) : null}
      {list.error ? <Alert kind="error">{errorMessage(list.error)}</Alert> : null}
      <section className="card card-flush" aria-busy={list.isFetching}>
        {!list.data && !list.error ? <Loading label="Reading the modules from the database…" /> : null}
        {list.data && rows.length === 0 ? (
          <EmptyState icon={<PuzzleIcon width={28} height={28} />} title="No modules match">
            {search || state ? 'Try another search or state.' : 'The database lists no modules yet.'}
          </EmptyState>
        ) : null}
        {shown.length > 0 ? (
          <ModulesTable
            modules={shown}
            selected={selected}
            selectable={isAdmin}
            onToggle={toggle}
            onToggleAll={toggleAll}
          />
        ) : null}
        {rows.length > SHOWN ? (
          <div className="card-footer muted">
            {SHOWN} of {rows.length} modules shown: search to narrow the list.
          </div>
        ) : null}
      </section>
      {pending ? (
        <ModulePlanDialog
          instance={instance}
          plan={pending.plan}
          onConfirm={(confirm) => apply(pending.batch, confirm)}
          onClose={() => setPending(null)}
        />
      ) : null}
    </div>
  );
}

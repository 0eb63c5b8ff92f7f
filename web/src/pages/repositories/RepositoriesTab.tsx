import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { errorMessage } from '../../api/errors';
import { queryKeys, repositoriesQuery } from '../../api/queries';
import type { Instance, Job } from '../../api/types';
import { Alert } from '../../components/Alert';
import { EmptyState, Loading } from '../../components/EmptyState';
import { BranchIcon, PlusIcon } from '../../components/icons';
import { JobProgress } from '../../components/JobProgress';
import { AddRepositoryModal } from './AddRepositoryModal';
import { RepositoryCard } from './RepositoryCard';

/** The Repositories tab of an instance: the project's git repositories as this instance has them checked out. */
export function RepositoriesTab({
  instance,
  isAdmin,
  refreshKey,
  onJobEnded,
}: {
  instance: Instance;
  isAdmin: boolean;
  /** Changes when a job of the instance ended elsewhere on the page: the cards read their folders again. */
  refreshKey: number;
  onJobEnded(job: Job): void;
}) {
  const projectId = instance.projectId;
  const queryClient = useQueryClient();
  const list = useQuery(repositoriesQuery(projectId));
  const [adding, setAdding] = useState(false);
  const [removals, setRemovals] = useState<Job[]>([]);
  const repositoriesChanged = () =>
    void queryClient.invalidateQueries({ queryKey: queryKeys.repositories.ofProject(projectId) });

  const repositories = list.data;
  const addButton = isAdmin ? (
    <button
      type="button"
      className="btn btn-primary"
      data-permission="repository.manage"
      onClick={() => setAdding(true)}
    >
      <PlusIcon />
      Add repository
    </button>
  ) : null;

  return (
    <div className="repositories-tab">
      <div className="section-head backups-head">
        <div>
          <h2>Repositories</h2>
          <p className="muted">
            Git repositories of Odoo addons for every instance of the project, mounted read-only under{' '}
            <span className="mono">/mnt/extra-addons</span>; Odoo’s addons_path follows them.
          </p>
        </div>
        {repositories && repositories.length > 0 ? <div className="page-actions">{addButton}</div> : null}
      </div>
      {removals.length > 0 ? (
        <div className="started-jobs">
          {removals.map((job) => (
            <JobProgress
              key={job.id}
              job={job}
              title={`Restart of ${job.target?.label ?? 'the instance'} without the repository`}
              onEnded={onJobEnded}
              onDismiss={() => setRemovals((all) => all.filter((j) => j.id !== job.id))}
            />
          ))}
        </div>
      ) : null}
      {list.error ? <Alert kind="error">{errorMessage(list.error)}</Alert> : null}
      {!repositories && !list.error ? <Loading /> : null}
      {repositories && repositories.length === 0 ? (
        <section className="card">
          <EmptyState icon={<BranchIcon width={28} height={28} />} title="No repositories yet">
            <p>
              Add a git repository of addons (yours, or an OCA one): each instance clones it, and an update brings new
              commits in with a safety backup and an automatic rollback.
            </p>
            {addButton}
          </EmptyState>
        </section>
      ) : null}
      {repositories?.map((repository) => (
        <RepositoryCard
          key={repository.id}
          repository={repository}
          instance={instance}
          isAdmin={isAdmin}
          refreshKey={refreshKey}
          onJobEnded={onJobEnded}
          onRemoved={(jobs) => {
            setRemovals((all) => [...jobs, ...all]);
            repositoriesChanged();
          }}
        />
      ))}
      {adding ? (
        <AddRepositoryModal
          projectId={projectId}
          defaultBranch={instance.odooVersion}
          onClose={() => setAdding(false)}
          onAdded={repositoriesChanged}
        />
      ) : null}
    </div>
  );
}

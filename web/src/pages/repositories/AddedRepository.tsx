import { useState } from 'react';
import { Link } from 'react-router-dom';
import type { Job, Repository } from '../../api/types';
import { Alert } from '../../components/Alert';
import { JobProgress } from '../../components/JobProgress';
import { Modal } from '../../components/Modal';
import { RepositoryKeys } from './RepositoryKeys';

/**
 * After "Add repository": the repository is saved, but it is not "added" to an instance until its
 * clone worked. Each clone job is followed here, and a failure shows git's own error with a link
 * to the job; an instance that could not take the job says why (issue #17).
 */
export function AddedRepository({
  repository,
  jobs,
  onClose,
}: {
  repository: Repository;
  jobs: Job[];
  onClose(): void;
}) {
  const [ended, setEnded] = useState<Record<string, Job>>({});
  const outcomes = jobs.map((job) => ended[job.id] ?? job);
  const failed = outcomes.filter((job) => job.status === 'failed' || job.status === 'cancelled');
  const allDone = outcomes.length > 0 && outcomes.every((job) => job.status === 'succeeded');
  const notQueued = repository.checkouts.filter((c) => c.error !== null && !jobs.some((j) => j.id === c.lastJobId));
  const title =
    failed.length > 0
      ? 'Repository saved; the clone failed'
      : allDone
        ? 'Repository added'
        : jobs.length > 0
          ? 'Repository saved; cloning…'
          : 'Repository saved; not cloned yet';

  return (
    <Modal
      title={title}
      description={`Each instance of the project clones ${repository.name} into /mnt/extra-addons/${repository.name} and restarts with it.`}
      onClose={onClose}
      width="wide"
    >
      {allDone ? (
        <Alert kind="success">
          <span className="mono">{repository.url}</span> on <span className="mono">{repository.branch}</span> is cloned.
        </Alert>
      ) : null}
      {failed.map((job) => (
        <Alert kind="error" key={job.id}>
          <span data-testid="clone-error">
            Cloning into {job.target?.label ?? 'the instance'} failed:{' '}
            <span className="mono">{job.error?.message ?? 'no reason given'}</span>{' '}
            <Link to={`/jobs/${job.id}`}>Open the job and its log</Link>
          </span>
        </Alert>
      ))}
      {notQueued.map((checkout) => (
        <Alert kind="warning" key={checkout.instanceId}>
          <span data-testid="clone-not-queued">
            {checkout.instanceName}: {checkout.error}{' '}
            {checkout.lastJobId ? <Link to={`/jobs/${checkout.lastJobId}`}>Open that job</Link> : null}
          </span>
        </Alert>
      ))}
      {jobs.map((job) => (
        <JobProgress
          key={job.id}
          job={job}
          title={`Clone of ${repository.name}`}
          label="Clone progress"
          onEnded={(finished) => setEnded((current) => ({ ...current, [finished.id]: finished }))}
        />
      ))}
      <RepositoryKeys repository={repository} />
      <div className="form-actions">
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Done
        </button>
      </div>
    </Modal>
  );
}

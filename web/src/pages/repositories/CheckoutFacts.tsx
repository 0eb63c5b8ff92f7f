import { type FormEvent, useEffect, useState } from 'react';
import { errorMessage } from '../../api/errors';
import type { Checkout, Repository, Stage } from '../../api/types';
import { Badge } from '../../components/Badge';
import { StageBadge } from '../../components/StatusBadges';
import { CommitDetails, CommitLine, shortHash } from './parts';

/** The branch of this instance, editable by admins: another branch is checked out by an update job. */
function BranchEditor({
  branch,
  followsRepository,
  canEdit,
  onSave,
}: {
  branch: string;
  followsRepository: boolean;
  canEdit: boolean;
  onSave(branch: string): Promise<void>;
}) {
  const [value, setValue] = useState(branch);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setValue(branch), [branch]);

  if (!canEdit) return <span className="mono">{branch}</span>;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSave(value.trim());
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  }

  const changed = value.trim() !== '' && value.trim() !== branch;
  return (
    <form className="branch-editor" onSubmit={submit} aria-label="Branch of this instance">
      <div className="branch-editor-row">
        <input
          className="mono input-compact"
          aria-label="Branch of this instance"
          aria-invalid={Boolean(error)}
          spellCheck={false}
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
        {changed ? (
          <button type="submit" className="btn btn-secondary btn-small" disabled={busy}>
            {busy ? 'Switching…' : 'Switch'}
          </button>
        ) : null}
      </div>
      <span className="muted branch-note">
        {changed
          ? 'Checks the branch out with an update job.'
          : followsRepository
            ? 'the repository’s branch'
            : 'this instance’s own branch'}
      </span>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

/** Branch, HEAD, addons and mount point of one instance's checkout; the other instances below. */
export function CheckoutFacts({
  repository,
  checkout,
  instanceId,
  canEdit,
  onBranch,
}: {
  repository: Repository;
  checkout: Checkout;
  instanceId: string;
  canEdit: boolean;
  onBranch(branch: string): Promise<void>;
}) {
  const head = checkout.git?.head;
  const others = repository.checkouts.filter((c) => c.instanceId !== instanceId);
  return (
    <>
      <dl className="repo-facts">
        <div>
          <dt>Branch</dt>
          <dd>
            <BranchEditor
              branch={checkout.branch}
              followsRepository={checkout.branch === repository.branch}
              canEdit={canEdit}
              onSave={onBranch}
            />
          </dd>
        </div>
        <div className="repo-fact-wide">
          <dt>HEAD</dt>
          <dd>
            {head ? (
              <CommitLine commit={head} />
            ) : checkout.commit ? (
              <code title={checkout.commit}>{shortHash(checkout.commit)}</code>
            ) : (
              <span className="muted">not cloned yet</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Addons</dt>
          <dd className="repo-addons">
            {checkout.addons.length > 0 ? (
              checkout.addons.map((a) => (
                <Badge key={a} tone="teal">
                  {a}
                </Badge>
              ))
            ) : (
              <span className="muted">none found</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Mounted at</dt>
          <dd className="mono">
            /mnt/extra-addons/{repository.name}
            {repository.submodules ? <span className="muted"> · with submodules</span> : null}
          </dd>
        </div>
      </dl>
      {head ? <CommitDetails head={head} commits={checkout.commits ?? []} /> : null}
      {others.length > 0 ? (
        <p className="repo-others muted">
          Other instances:{' '}
          {others.map((c, index) => (
            <span key={c.instanceId}>
              {index > 0 ? ', ' : ''}
              {c.instanceName} <StageBadge stage={c.stage as Stage} /> on <span className="mono">{c.branch}</span> at{' '}
              <code>{shortHash(c.commit)}</code>
            </span>
          ))}
        </p>
      ) : null}
    </>
  );
}

import type { Repository } from '../../api/types';
import { CopyField } from '../../components/CopyField';

/**
 * What to set up on the git server: the deploy key (read access), the pinned host keys, and the
 * push-to-deploy webhook with its secret (organization admins only).
 */
export function RepositoryKeys({ repository }: { repository: Repository }) {
  const local = repository.url.startsWith('file://');
  const ssh = !local && !repository.url.startsWith('https://');
  return (
    <div className="repo-keys" data-testid="repository-keys">
      <div className="repo-key-block">
        <h4>Deploy key</h4>
        <p className="field-hint">
          {ssh
            ? 'Add this public key to the repository as a deploy key with read access: Marina clones with it.'
            : local
              ? 'A local repository needs no key; this one is used if the repository moves to an ssh URL.'
              : 'Marina clones this URL without a key. For a private repository, use its ssh URL and add this key as a read-only deploy key.'}
        </p>
        <CopyField label="Deploy key" value={repository.deployKey} />
      </div>
      {repository.hostKeys.length > 0 ? (
        <div className="repo-key-block">
          <h4>Pinned host keys</h4>
          <p className="field-hint">Marina accepts exactly these keys from the git server.</p>
          <ul className="host-keys" aria-label="Pinned host keys">
            {repository.hostKeys.map((fingerprint) => (
              <li key={fingerprint} className="mono">
                {fingerprint}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {repository.hook ? (
        <div className="repo-key-block">
          <h4>Push to deploy</h4>
          <p className="field-hint">
            Add a webhook for push events, content type <code>application/json</code>. GitHub and Gitea: put the secret
            in <em>Secret</em>. GitLab: put it in <em>Secret token</em>. Every push to an instance’s branch updates that
            instance.
          </p>
          <span className="stat-label">Webhook URL</span>
          <CopyField label="Webhook URL" value={repository.hook.url} />
          <span className="stat-label">Secret</span>
          <CopyField label="Webhook secret" value={repository.hook.secret} />
        </div>
      ) : null}
    </div>
  );
}

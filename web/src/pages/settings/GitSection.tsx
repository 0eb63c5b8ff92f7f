import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { gitSettingsQuery, organizationsQuery, queryKeys } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { useToast } from '../../components/Toast';
import { SettingSwitch } from '../repositories/parts';

/**
 * Platform admins: local (file://) repositories, allowed only inside one root folder and only for
 * the organizations named here.
 */
export function GitSection() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const loaded = useQuery(gitSettingsQuery());
  const orgs = useQuery(organizationsQuery());
  const [root, setRoot] = useState<string | undefined>(undefined);
  const [savedRoot, setSavedRoot] = useState<string | null>(null);
  const [granted, setGranted] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (loaded.data) {
      setRoot(loaded.data.fileRoot ?? '');
      setSavedRoot(loaded.data.fileRoot);
      setGranted(loaded.data.fileRepositoryOrganizations);
    }
  }, [loaded.data]);

  async function saveRoot(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const fileRoot = (root ?? '').trim() === '' ? null : (root ?? '').trim();
      const answer = await call(api.PUT('/api/v1/settings/git', { body: { fileRoot } }));
      setRoot(answer.git.fileRoot ?? '');
      setSavedRoot(answer.git.fileRoot);
      void queryClient.invalidateQueries({ queryKey: queryKeys.settings.git });
      toast.success(
        answer.git.fileRoot
          ? `Local repositories must be inside ${answer.git.fileRoot}.`
          : 'Local repositories are refused.',
      );
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function grant(organizationId: string, next: boolean) {
    try {
      await call(
        api.PUT('/api/v1/organizations/{id}/file-repositories', {
          params: { path: { id: organizationId } },
          body: { allowFileRepositories: next },
        }),
      );
      setGranted((current) => (next ? [...current, organizationId] : current.filter((id) => id !== organizationId)));
      void queryClient.invalidateQueries({ queryKey: queryKeys.settings.git });
    } catch (caught) {
      toast.error(errorMessage(caught));
    }
  }

  return (
    <section className="card" aria-label="Git">
      <header className="card-header">
        <div>
          <h2 className="title-with-badge">
            Git {savedRoot && granted.length ? <Badge tone="amber">file:// allowed</Badge> : null}
          </h2>
          <p className="card-subtitle">
            Repositories of addons are cloned over https or ssh, with a deploy key per repository and pinned host keys.
            Local <code>file://</code> repositories are folders on Marina’s own machine: allow them only inside one
            folder of repositories, and only for the organizations you trust with everything in it.
          </p>
        </div>
      </header>
      <div className="card-body">
        {loaded.error ? <Alert kind="error">{errorMessage(loaded.error)}</Alert> : null}
        {root === undefined && !loaded.error ? <Loading /> : null}
        {root !== undefined ? (
          <>
            <form className="form" onSubmit={saveRoot} noValidate aria-label="Local repositories">
              <FormError error={error} fields={[]} />
              <Field
                label="Root folder of local repositories"
                hint="An absolute path such as /srv/git. Empty: no local repository anywhere. It may not hold Marina's own data."
                optional
              >
                {(props) => (
                  <input
                    {...props}
                    className="mono"
                    autoComplete="off"
                    placeholder="/srv/git"
                    value={root}
                    onChange={(e) => setRoot(e.target.value)}
                  />
                )}
              </Field>
              <div className="form-actions form-actions-start">
                <button type="submit" className="btn btn-primary" disabled={busy}>
                  Save root folder
                </button>
              </div>
            </form>
            {savedRoot && orgs.data
              ? orgs.data.map((org) => (
                  <SettingSwitch
                    key={org.id}
                    label={`Local repositories for ${org.name}`}
                    hint={`Lets admins of ${org.name} add file:// repositories inside ${savedRoot}.`}
                    checked={granted.includes(org.id)}
                    onChange={(next) => grant(org.id, next)}
                  />
                ))
              : null}
          </>
        ) : null}
      </div>
    </section>
  );
}

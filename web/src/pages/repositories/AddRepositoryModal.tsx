import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import type { Job, NewRepository, Repository } from '../../api/types';
import { CheckboxField } from '../../components/ChoiceCard';
import { CodeField } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { Modal } from '../../components/Modal';
import { fieldErrorsOf } from '../offsite/parts';
import { AddedRepository } from './AddedRepository';

const FIELDS = ['url', 'branch', 'name', 'subfolder', 'submodules', 'knownHosts'];

/** "Add repository": URL, branch, folder; then the deploy key and the webhook to set up on the git server. */
export function AddRepositoryModal({
  projectId,
  defaultBranch,
  onClose,
  onAdded,
}: {
  projectId: string;
  /** The Odoo series, the usual branch name of addons repositories (17.0). */
  defaultBranch: string;
  onClose(): void;
  onAdded(repository: Repository, jobs: Job[]): void;
}) {
  const [url, setUrl] = useState('');
  const [branch, setBranch] = useState(defaultBranch);
  const [name, setName] = useState('');
  const [subfolder, setSubfolder] = useState('');
  const [submodules, setSubmodules] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [added, setAdded] = useState<{ repository: Repository; jobs: Job[] } | null>(null);
  const errors = fieldErrorsOf(error);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: NewRepository = { url: url.trim(), branch: branch.trim(), submodules };
      if (name.trim()) body.name = name.trim();
      if (subfolder.trim()) body.subfolder = subfolder.trim();
      const answer = await call(
        api.POST('/api/v1/projects/{id}/repositories', { params: { path: { id: projectId } }, body }),
      );
      setAdded(answer);
      onAdded(answer.repository, answer.jobs);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  if (added) {
    return <AddedRepository repository={added.repository} jobs={added.jobs} onClose={onClose} />;
  }

  return (
    <Modal
      title="Add repository"
      description="A git repository of Odoo addons. Every instance of the project gets its own checkout, mounted read-only."
      onClose={onClose}
      width="wide"
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Add repository">
        <FormError error={error} fields={FIELDS} />
        <CodeField
          label="Repository URL"
          error={errors.url}
          hint={
            <>
              <code>git@github.com:acme/addons.git</code> (ssh, with a deploy key) or{' '}
              <code>https://github.com/OCA/web.git</code> (public).
            </>
          }
          placeholder="git@github.com:acme/addons.git"
          value={url}
          onChange={setUrl}
        />
        <div className="form-grid">
          <CodeField
            label="Branch"
            error={errors.branch}
            hint="Instances follow it; one can be given its own branch later."
            value={branch}
            onChange={setBranch}
          />
          <CodeField
            label="Folder name"
            optional
            error={errors.name}
            hint="Under /mnt/extra-addons; by default the repository’s name."
            value={name}
            onChange={setName}
          />
        </div>
        <CodeField
          label="Sub-folder"
          optional
          error={errors.subfolder}
          hint="Only when the addons live in a folder of the repository, e.g. addons."
          value={subfolder}
          onChange={setSubfolder}
        />
        <CheckboxField
          label="Check out submodules"
          hint="Clones and updates the repository’s git submodules too."
          checked={submodules}
          onChange={setSubmodules}
        />
        {errors.submodules ? <p className="field-error">{errors.submodules}</p> : null}
        {errors.knownHosts ? <p className="field-error">{errors.knownHosts}</p> : null}
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !url.trim() || !branch.trim()}>
            {busy ? 'Adding…' : 'Add repository'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

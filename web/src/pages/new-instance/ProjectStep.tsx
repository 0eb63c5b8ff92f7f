import { type FormEvent, useState } from 'react';
import { Link } from 'react-router-dom';
import { SLUG_RULE } from '../../../../src/platform/name-rule';
import { api, call } from '../../api/client';
import { ApiError, errorMessage } from '../../api/errors';
import { limits } from '../../api/limits';
import type { Project } from '../../api/types';
import { Alert } from '../../components/Alert';
import { ChoiceCard } from '../../components/ChoiceCard';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { NameField, SlugField } from '../../components/FormFields';
import { slugify } from '../../format';
import { newestAvailable, newestFirst, useOdooVersions } from './versions';
import './new-instance.css';

export interface OrgChoice {
  id: string;
  slug: string;
  name: string;
}

/** Step 1: the project the instance belongs to, chosen or created here. */
export function ProjectStep({
  organizations,
  projects,
  initialProject,
  onChosen,
}: {
  organizations: OrgChoice[];
  projects: Project[];
  initialProject: Project | null;
  onChosen(project: Project): void;
}) {
  const [mode, setMode] = useState<'existing' | 'new'>(projects.length > 0 ? 'existing' : 'new');
  const [projectId, setProjectId] = useState(initialProject?.id ?? projects[0]?.id ?? '');
  const [organization, setOrganization] = useState(organizations[0]?.id ?? '');
  const [displayName, setDisplayName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const versions = useOdooVersions();
  const [chosenVersion, setVersion] = useState('');
  // Until the user picks one: the newest version that can run here (never one whose image is missing).
  const version = chosenVersion || newestAvailable(versions.data ?? []);
  const missing = newestFirst(versions.data ?? []).filter((v) => !v.available);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const shownSlug = slugEdited ? slug : slugify(displayName);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (mode === 'existing') {
      const chosen = projects.find((p) => p.id === projectId);
      if (chosen) onChosen(chosen);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { project } = await call(
        api.POST('/api/v1/projects', {
          body: {
            organization,
            name: shownSlug,
            ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
            odooVersion: version,
          },
        }),
      );
      onChosen(project);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <form className="form" onSubmit={submit} noValidate>
      <fieldset className="choice-group">
        <legend>Project</legend>
        <p className="field-hint">A project holds one customer’s Odoo: its version and its instances by stage.</p>
        <div className="choice-grid choice-grid-2">
          <ChoiceCard
            name="project-mode"
            value="existing"
            checked={mode === 'existing'}
            onChange={() => setMode('existing')}
            title="Use an existing project"
            hint={projects.length > 0 ? `${projects.length} available` : 'None yet'}
          />
          <ChoiceCard
            name="project-mode"
            value="new"
            checked={mode === 'new'}
            onChange={() => setMode('new')}
            title="Create a new project"
            hint="Choose its organization and Odoo version"
          />
        </div>
      </fieldset>
      <FormError error={error} fields={['organization', 'name', 'displayName', 'odooVersion']} />
      {mode === 'existing' ? (
        projects.length > 0 ? (
          <Field label="Project" hint="Grouped by organization.">
            {(props) => (
              <select {...props} value={projectId} onChange={(e) => setProjectId(e.target.value)}>
                {organizations.map((org) => {
                  const own = projects.filter((p) => p.organizationId === org.id);
                  if (own.length === 0) return null;
                  return (
                    <optgroup key={org.id} label={org.name}>
                      {own.map((p) => (
                        <option key={p.id} value={p.id}>
                          {p.displayName} ({p.name}) — Odoo {p.odooVersion}
                        </option>
                      ))}
                    </optgroup>
                  );
                })}
              </select>
            )}
          </Field>
        ) : (
          <Alert kind="info">There is no project yet: create one.</Alert>
        )
      ) : (
        <div className="form-grid">
          <Field label="Organization" error={fieldErrors.organization}>
            {(props) => (
              <select {...props} value={organization} onChange={(e) => setOrganization(e.target.value)}>
                {organizations.map((org) => (
                  <option key={org.id} value={org.id}>
                    {org.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field
            label="Odoo version"
            error={fieldErrors.odooVersion}
            hint="Every instance of the project runs it. Only versions whose image is on the host can be chosen."
          >
            {(props) =>
              versions.data ? (
                <select {...props} value={version} onChange={(e) => setVersion(e.target.value)}>
                  {version === '' ? <option value="">No version can run here</option> : null}
                  {newestFirst(versions.data).map((v) => (
                    <option key={v.version} value={v.version} disabled={!v.available}>
                      Odoo {v.version}
                      {v.available ? '' : ' — not available'}
                    </option>
                  ))}
                </select>
              ) : versions.error ? (
                <Alert kind="error">{errorMessage(versions.error)}</Alert>
              ) : (
                <Loading />
              )
            }
          </Field>
          <NameField
            label="Display name"
            optional
            placeholder="e.g. ACME ERP"
            value={displayName}
            onChange={setDisplayName}
            error={fieldErrors.displayName}
          />
          <SlugField
            label="Project slug"
            required
            hint={`${SLUG_RULE[0]?.toUpperCase()}${SLUG_RULE.slice(1)}; part of container names.`}
            maxLength={limits.projectSlug.maxLength}
            value={shownSlug}
            onChange={(typed) => {
              setSlugEdited(true);
              setSlug(typed);
            }}
            error={fieldErrors.name}
          />
          {missing.length > 0 ? (
            <div className="version-missing" data-testid="versions-unavailable">
              <p className="field-hint">Not available on this host:</p>
              <ul>
                {missing.map((v) => (
                  <li key={v.version} data-version={v.version}>
                    <strong>Odoo {v.version}</strong>: {v.reason}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
        </div>
      )}
      <div className="form-actions">
        <Link className="btn btn-secondary" to="/instances">
          Cancel
        </Link>
        <button
          type="submit"
          className="btn btn-primary"
          disabled={busy || (mode === 'existing' ? !projectId : !organization || !shownSlug || !version)}
        >
          {busy ? 'Creating project…' : mode === 'new' ? 'Create project and continue' : 'Continue'}
        </button>
      </div>
    </form>
  );
}

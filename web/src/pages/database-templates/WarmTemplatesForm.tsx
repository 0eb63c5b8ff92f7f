import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError, errorMessage } from '../../api/errors';
import { queryKeys, warmTemplatesQuery } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { CheckboxField } from '../../components/ChoiceCard';
import { Loading } from '../../components/EmptyState';
import { FormError } from '../../components/FormError';
import { useToast } from '../../components/Toast';
import { newestFirst, odooVersionsQuery } from '../new-instance/versions';
import { type OdooTemplate, templateKeys, templatesQuery } from '../templates/api';

function recipeOf(t: OdooTemplate): string {
  return [
    `Odoo ${t.odooVersion}`,
    t.modules.length === 0 ? 'base only' : `base, ${t.modules.join(', ')}`,
    t.language,
    t.demo ? 'demo data' : null,
  ]
    .filter(Boolean)
    .join(' · ');
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** The API names a refused template by its id; the form showed its name. */
function namingTemplates(error: unknown, names: ReadonlyMap<string, string>): unknown {
  if (!(error instanceof ApiError)) return error;
  const message = error.message.replace(UUID, (id) => (names.has(id) ? `“${names.get(id)}”` : id));
  // The usual cause is a template archived in another tab; the list is read again without it.
  const hint = 'templates' in error.fieldErrors ? ' The list below is read again: Save keeps those still offered.' : '';
  return new ApiError(error.status, error.code, message + hint, error.details);
}

function toggled(set: ReadonlySet<string>, value: string, on: boolean): Set<string> {
  const next = new Set(set);
  if (on) next.add(value);
  else next.delete(value);
  return next;
}

/**
 * Which recipes Marina keeps built ahead on the local host's database server, so that even the
 * first instance (or sign-up) of a version or an Odoo template is a copy.
 */
export function WarmTemplatesForm() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const warm = useQuery(warmTemplatesQuery());
  const versions = useQuery(odooVersionsQuery());
  const templates = useQuery(templatesQuery());
  const [chosenVersions, setChosenVersions] = useState<Set<string> | null>(null);
  const [chosenTemplates, setChosenTemplates] = useState<Set<string>>(new Set());
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (warm.data) {
      setChosenVersions(new Set(warm.data.versions));
      setChosenTemplates(new Set(warm.data.templates));
    }
  }, [warm.data]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const names = new Map((templates.data ?? []).map((t) => [t.id, t.name]));
    try {
      // A template archived since the list was read is no longer shown: it is not asked for either.
      const listed = new Set(names.keys());
      const body = {
        versions: [...(chosenVersions ?? [])],
        templates: [...chosenTemplates].filter((id) => listed.has(id)),
      };
      const saved = await call(api.PUT('/api/v1/database-templates/warm', { body }));
      queryClient.setQueryData(queryKeys.databaseTemplates.warm(), saved);
      // Saving starts the builds at once: the list shows them being built.
      await queryClient.invalidateQueries({ queryKey: queryKeys.databaseTemplates.list() });
      const count = saved.versions.length + saved.templates.length;
      toast.success(count === 0 ? 'Nothing is built ahead now.' : `${count} recipe(s) are kept built ahead.`);
    } catch (caught) {
      setError(namingTemplates(caught, names));
      await queryClient.invalidateQueries({ queryKey: templateKeys.all });
    } finally {
      setBusy(false);
    }
  }

  const loadError = warm.error ?? versions.error ?? templates.error;
  const ready = chosenVersions !== null && versions.data && templates.data;
  const warmCount = (warm.data?.versions.length ?? 0) + (warm.data?.templates.length ?? 0);

  return (
    <section className="card" aria-label="Built ahead">
      <header className="card-header">
        <div>
          <h2 className="title-with-badge">
            Built ahead {warmCount > 0 ? <Badge tone="green">{warmCount} kept warm</Badge> : null}
          </h2>
          <p className="card-subtitle">
            Marina builds these templates on the local host's database server as soon as they are saved, and again
            within the hour when a new image or an expired template needs it.
          </p>
        </div>
      </header>
      <div className="card-body">
        {loadError ? <Alert kind="error">{errorMessage(loadError)}</Alert> : null}
        {!ready && !loadError ? <Loading /> : null}
        {ready ? (
          <form className="form" onSubmit={submit} noValidate aria-label="Warm template databases">
            <FormError error={error} fields={[]} />
            <fieldset className="choice-group">
              <legend>Odoo versions</legend>
              <p className="field-hint">
                Plain base in English (en_US), without demo data: a new instance with no template.
              </p>
              <div className="warm-grid warm-grid-versions">
                {newestFirst(versions.data).map((v) => (
                  <CheckboxField
                    key={v.version}
                    label={`Odoo ${v.version}`}
                    hint={
                      v.available ? (
                        v.image
                      ) : (
                        // The reason names the setting to change: kept whole, on hover, so the grid stays even.
                        <span title={v.reason ?? undefined}>No image on the host yet: built once there is one</span>
                      )
                    }
                    checked={chosenVersions.has(v.version)}
                    onChange={(on) => setChosenVersions(toggled(chosenVersions, v.version, on))}
                  />
                ))}
              </div>
            </fieldset>
            <fieldset className="choice-group">
              <legend>Odoo templates</legend>
              {templates.data.length === 0 ? (
                <p className="field-hint">No Odoo template yet: Settings → Templates makes one.</p>
              ) : (
                <div className="warm-grid">
                  {templates.data.map((t) => (
                    <CheckboxField
                      key={t.id}
                      label={t.name}
                      hint={recipeOf(t)}
                      checked={chosenTemplates.has(t.id)}
                      onChange={(on) => setChosenTemplates(toggled(chosenTemplates, t.id, on))}
                    />
                  ))}
                </div>
              )}
            </fieldset>
            <div className="form-actions form-actions-start">
              <button type="submit" className="btn btn-primary" disabled={busy}>
                {busy ? 'Saving…' : 'Save'}
              </button>
            </div>
          </form>
        ) : null}
      </div>
    </section>
  );
}

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { useToast } from '../../components/Toast';
import { type NewOdooTemplate, type OdooTemplate, templateKeys, templatesQuery } from './api';
import { TemplateForm } from './TemplateForm';
import '../../styles/templates.css';

/** The recipe in one line: modules after base, language, country, demo data. */
function recipeSummary(t: OdooTemplate): string {
  return [
    t.modules.length === 0 ? 'base only' : `base, ${t.modules.join(', ')}`,
    t.language,
    t.country ?? 'no country',
    t.demo ? 'demo data' : null,
  ]
    .filter(Boolean)
    .join(' · ');
}

/**
 * Platform admins: the Odoo templates a new instance can be made with. Removing one that an
 * instance or a sign-up used archives it instead (no longer offered).
 */
export function TemplatesSection() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const templates = useQuery(templatesQuery());
  const [editing, setEditing] = useState<OdooTemplate | 'new' | null>(null);
  const [removing, setRemoving] = useState<OdooTemplate | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: templateKeys.all });

  async function save(input: NewOdooTemplate) {
    if (editing && editing !== 'new') {
      await call(api.PATCH('/api/v1/odoo-templates/{id}', { params: { path: { id: editing.id } }, body: input }));
      toast.success(`${input.name} is saved.`);
    } else {
      await call(api.POST('/api/v1/odoo-templates', { body: input }));
      toast.success(`${input.name} is created.`);
    }
    await refresh();
  }

  return (
    <section className="card card-flush" aria-label="Templates">
      <header className="card-header">
        <div>
          <h2>Templates</h2>
          <p className="card-subtitle">
            What a new instance is made with: the modules installed with base, its language and country, demo data, the
            company named after the organization. Public ones are offered at sign-up.
          </p>
        </div>
        <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
          New template
        </button>
      </header>
      {templates.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(templates.error)}</Alert>
        </div>
      ) : null}
      {templates.isPending ? <Loading /> : null}
      {templates.data && templates.data.length === 0 ? (
        <EmptyState title="No template yet">New instances start from an empty Odoo (base only).</EmptyState>
      ) : null}
      {templates.data && templates.data.length > 0 ? (
        <DataTable
          label="Templates"
          rows={templates.data}
          rowKey={(t) => t.id}
          columns={[
            {
              header: 'Name',
              className: 'row-title',
              cell: (t) => (
                <span data-template={t.slug}>
                  {t.name}
                  {t.description ? <span className="template-description">{t.description}</span> : null}
                </span>
              ),
            },
            { header: 'Odoo', cell: (t) => t.odooVersion },
            {
              header: 'Offered',
              cell: (t) => (t.public ? <Badge tone="green">at sign-up</Badge> : <Badge>by an admin</Badge>),
            },
            { header: 'Recipe', cell: (t) => <span className="template-recipe">{recipeSummary(t)}</span> },
            { header: 'Instances', cell: (t) => t.instances },
            {
              header: 'Actions',
              hiddenHeader: true,
              className: 'actions',
              cell: (t) => (
                <div className="template-actions">
                  <button type="button" className="btn btn-secondary btn-small" onClick={() => setEditing(t)}>
                    Edit
                  </button>
                  <button type="button" className="btn btn-secondary btn-small" onClick={() => setRemoving(t)}>
                    {t.instances > 0 ? 'Archive' : 'Remove'}
                  </button>
                </div>
              ),
            },
          ]}
        />
      ) : null}
      {editing ? (
        <TemplateForm
          template={editing === 'new' ? undefined : editing}
          onSave={save}
          onClose={() => setEditing(null)}
        />
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove template"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            const answer = await call(
              api.DELETE('/api/v1/odoo-templates/{id}', { params: { path: { id: removing.id } } }),
            );
            toast.success(
              answer.removed
                ? `${removing.name} is removed.`
                : `${removing.name} is archived: instances or sign-ups were made with it.`,
            );
            await refresh();
          }}
        >
          It is no longer offered. A template that instances or sign-ups were made with is archived instead of removed:
          they keep saying what they were made with.
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

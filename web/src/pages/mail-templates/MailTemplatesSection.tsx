import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { Loading } from '../../components/EmptyState';
import '../../styles/mail-templates.css';
import { MailTemplateEditor } from './MailTemplateEditor';
import { OutboxList } from './OutboxList';
import { mailTemplateKeys, type TemplateSummary } from './types';

const label = (key: string) => key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** Settings → Emails (platform admins): the mails Marina sends people, editable, and what left. */
export function MailTemplatesSection() {
  const [params, setParams] = useSearchParams();
  const editing = params.get('template');
  const locale = params.get('locale') ?? 'en';
  const list = useQuery({
    queryKey: mailTemplateKeys.list,
    queryFn: async () => (await call(api.GET('/api/v1/mail-templates'))).templates,
  });

  function open(key: string | null, nextLocale = 'en') {
    const next = new URLSearchParams(params);
    if (key) {
      next.set('template', key);
      next.set('locale', nextLocale);
    } else {
      next.delete('template');
      next.delete('locale');
    }
    setParams(next, { replace: false });
  }

  const summary = list.data?.find((entry) => entry.key === editing);
  if (editing && summary) {
    return (
      <MailTemplateEditor
        key={`${summary.key}/${locale}`}
        summary={summary}
        locale={locale}
        label={label(summary.key)}
        onLocale={(next) => open(summary.key, next)}
        onClose={() => open(null)}
      />
    );
  }

  return (
    <div className="card-stack">
      <section className="card card-flush" aria-label="Emails sent to people">
        <header className="card-header">
          <div>
            <h2>Emails sent to people</h2>
            <p className="card-subtitle">
              What Marina writes to customers and members: sign-up, invitations, trial reminders, failed backups… Edit a
              mail per language; a language without its own version gets the English one.
            </p>
          </div>
        </header>
        {list.isPending ? <Loading /> : null}
        {list.error ? <Alert kind="error">{errorMessage(list.error)}</Alert> : null}
        {list.data ? (
          <DataTable<TemplateSummary>
            label="Mail templates"
            className="table-clickable"
            rows={list.data}
            rowKey={(row) => row.key}
            rowProps={(row) => ({ 'data-template': row.key, onClick: () => open(row.key) })}
            columns={[
              {
                header: 'Mail',
                cell: (row) => (
                  <div>
                    <strong>{label(row.key)}</strong>
                    <div className="mail-templates-description">{row.description}</div>
                  </div>
                ),
              },
              {
                header: 'Edited',
                cell: (row) =>
                  row.overriddenLocales.length === 0 ? (
                    <Badge tone="gray">default</Badge>
                  ) : (
                    <span className="mail-templates-locales">
                      {row.overriddenLocales.map((l) => (
                        <Badge key={l} tone="teal">
                          {l}
                        </Badge>
                      ))}
                    </span>
                  ),
              },
              {
                header: 'Actions',
                hiddenHeader: true,
                className: 'cell-actions',
                cell: (row) => (
                  <button
                    type="button"
                    className="btn btn-secondary btn-small"
                    onClick={(event) => {
                      event.stopPropagation();
                      open(row.key);
                    }}
                  >
                    Edit
                  </button>
                ),
              },
            ]}
          />
        ) : null}
      </section>
      <OutboxList />
    </div>
  );
}

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { databaseTemplatesQuery, hostsQuery, queryKeys } from '../../api/queries';
import type { DatabaseTemplate } from '../../api/types';
import { Alert } from '../../components/Alert';
import type { BadgeTone } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { DatabaseIcon, TrashIcon } from '../../components/icons';
import { useToast } from '../../components/Toast';
import { formatDateTime, formatRelative } from '../../format';
import { formatBytes, formatDuration } from '../../operate';
import { WarmTemplatesForm } from './WarmTemplatesForm';
import '../../styles/database-templates.css';

/** A build takes seconds to minutes: while one runs, the list follows it without a click. */
const BUILDING_POLL_MS = 5000;
/** Names shown before "+N more"; the closure of a template's modules runs to dozens. */
const SHOWN_MODULES = 2;

const statusTones: Record<DatabaseTemplate['status'], BadgeTone> = { building: 'blue', ready: 'green', failed: 'red' };

/** base is in every template: the names after it tell them apart. */
function modulesSummary(modules: readonly string[]): { shown: string; more: number } {
  const extra = modules.filter((m) => m !== 'base');
  if (extra.length === 0) return { shown: 'base only', more: 0 };
  return { shown: extra.slice(0, SHOWN_MODULES).join(', '), more: Math.max(0, extra.length - SHOWN_MODULES) };
}

function summaryText(modules: readonly string[]): string {
  const { shown, more } = modulesSummary(modules);
  return more > 0 ? `${shown} +${more} more` : shown;
}

function ModulesCell({ modules }: { modules: readonly string[] }) {
  const { shown, more } = modulesSummary(modules);
  return (
    <span className="db-template-modules" title={modules.join(', ')}>
      {shown}
      {more > 0 ? <span className="nowrap"> +{more} more</span> : null}
    </span>
  );
}

function buildTime(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms / 1000);
}

function StatusCell({ template }: { template: DatabaseTemplate }) {
  const { status, error } = template;
  return (
    <span className="stacked-time">
      <span>
        <span
          className={`badge badge-${statusTones[status]} status-badge${status === 'building' ? ' status-transitional' : ''}`}
          data-testid="template-status"
          data-status={status}
        >
          <span className="status-dot" aria-hidden="true" />
          {status}
        </span>
      </span>
      {status === 'failed' && error ? (
        <span className="db-template-error" title={error}>
          {error}
        </span>
      ) : null}
      {status === 'ready' ? (
        <span
          className="muted"
          title={template.readyAt ? `Ready since ${formatDateTime(template.readyAt)}` : undefined}
        >
          built in {buildTime(template.buildMs)}
        </span>
      ) : null}
      {status === 'building' ? (
        <span className="muted" title={formatDateTime(template.createdAt)}>
          since {formatRelative(template.createdAt)}
        </span>
      ) : null}
    </span>
  );
}

function TemplatesTable({
  templates,
  hostNames,
  onRemove,
}: {
  templates: DatabaseTemplate[];
  hostNames: ReadonlyMap<string, string>;
  onRemove(template: DatabaseTemplate): void;
}) {
  return (
    <DataTable
      label="Template databases"
      className="table-compact db-templates-table"
      rows={templates}
      rowKey={(t) => t.id}
      rowProps={(t) => ({ 'data-database': t.database })}
      columns={[
        { header: 'Odoo', className: 'nowrap', cell: (t) => <span title={t.image}>{t.odooVersion}</span> },
        {
          header: 'Modules',
          cell: (t) => <ModulesCell modules={t.modules} />,
        },
        {
          header: 'Language',
          cell: (t) => (
            <span className="stacked-time">
              <span>{t.language}</span>
              <span className="muted">{t.demo ? 'demo data' : 'no demo'}</span>
            </span>
          ),
        },
        { header: 'Status', className: 'db-template-status', cell: (t) => <StatusCell template={t} /> },
        { header: 'Size', headerClassName: 'num', className: 'num nowrap', cell: (t) => formatBytes(t.bytes) },
        {
          header: 'Uses',
          headerClassName: 'num',
          className: 'num nowrap',
          cell: (t) => (
            <span className="stacked-time">
              <span>{t.uses}</span>
              {t.lastUsedAt ? (
                <span className="muted" title={`Last used ${formatDateTime(t.lastUsedAt)}`}>
                  {formatRelative(t.lastUsedAt)}
                </span>
              ) : (
                <span className="muted">never used</span>
              )}
            </span>
          ),
        },
        {
          header: 'Database server',
          cell: (t) => (
            <span className="stacked-time" title={`Database server ${t.databaseServerId}`}>
              <span>{hostNames.get(t.hostId) ?? t.hostId}</span>
              <span className="muted mono db-template-database">{t.database}</span>
            </span>
          ),
        },
        {
          header: 'Actions',
          hiddenHeader: true,
          className: 'actions',
          cell: (t) => (
            <button
              type="button"
              className="icon-button icon-button-danger"
              aria-label={`Remove ${t.database}`}
              title={
                t.status === 'building'
                  ? 'Being built: it can be removed once it is ready or failed'
                  : 'Remove this template database'
              }
              disabled={t.status === 'building'}
              onClick={() => onRemove(t)}
            >
              <TrashIcon width={16} height={16} />
            </button>
          ),
        },
      ]}
    />
  );
}

/**
 * Platform admins: the initialized Odoo databases new instances are copied from, per database
 * server, and which of them Marina builds before anyone asks.
 */
export function DatabaseTemplatesSection() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const { data, error, isFetching, isPending, refetch } = useQuery({
    ...databaseTemplatesQuery(),
    refetchInterval: (query) => (query.state.data?.some((t) => t.status === 'building') ? BUILDING_POLL_MS : false),
  });
  // Only for the hosts' names: the ids alone are still shown when hosts cannot be read.
  const hosts = useQuery(hostsQuery());
  const hostNames = new Map((hosts.data ?? []).map((h) => [h.id, h.name]));
  const [removing, setRemoving] = useState<DatabaseTemplate | null>(null);

  return (
    <div className="card-stack">
      <section className="card card-flush" aria-label="Template databases">
        <header className="card-header">
          <div>
            <h2>Template databases</h2>
            <p className="card-subtitle">
              Odoo initialized once per database server and recipe (version, modules, language, demo data); a new
              instance is a copy of it, made in seconds instead of installing its modules again.
            </p>
          </div>
          <button type="button" className="btn btn-secondary" onClick={() => void refetch()} disabled={isFetching}>
            Refresh
          </button>
        </header>
        {error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(error)}</Alert>
          </div>
        ) : null}
        {isPending ? <Loading /> : null}
        {data ? <TemplatesTable templates={data} hostNames={hostNames} onRemove={setRemoving} /> : null}
        {data && data.length === 0 ? (
          <EmptyState icon={<DatabaseIcon width={28} height={28} />} title="No template database yet">
            <p>
              Marina builds a template the first time an instance of its recipe is made, and copies it for the next
              ones. Versions and Odoo templates kept warm below are built ahead, before anyone needs them.
            </p>
          </EmptyState>
        ) : null}
      </section>
      <WarmTemplatesForm />
      {removing ? (
        <ConfirmDialog
          title={`Remove the template database ${removing.database}?`}
          confirmLabel="Remove template database"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await call(api.DELETE('/api/v1/database-templates/{id}', { params: { path: { id: removing.id } } }));
            toast.success(`The template database ${removing.database} is removed.`);
            await queryClient.invalidateQueries({ queryKey: queryKeys.databaseTemplates.list() });
          }}
        >
          <p>
            Marina drops the database, its role and its files. Instances copied from it keep working. The next instance
            of this recipe ({summaryText(removing.modules)}, Odoo {removing.odooVersion}) builds it again, and takes
            longer for it.
          </p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

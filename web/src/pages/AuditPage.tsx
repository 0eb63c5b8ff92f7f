import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { type FormEvent, useMemo, useState } from 'react';
import { api, call } from '../api/client';
import { errorMessage } from '../api/errors';
import { auditEventsQuery, organizationsQuery } from '../api/queries';
import type { AuditEvent, AuditQuery } from '../api/types';
import { Alert } from '../components/Alert';
import type { BadgeTone } from '../components/Badge';
import { DataTable } from '../components/DataTable';
import { EmptyState, Loading } from '../components/EmptyState';
import { ShieldIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { dayBoundary, formatDate, formatDateTime, formatRelative, formatTime } from '../format';

const PAGE_SIZE = 50;

/** The one vocabulary of actions (docs/audit.md): each target type with its actions. */
type Vocabulary = Awaited<ReturnType<typeof fetchVocabulary>>;
type ActionName = NonNullable<AuditQuery['action']>;
const fetchVocabulary = async () => (await call(api.GET('/api/v1/audit/vocabulary'))).targets;
const vocabularyQuery = { queryKey: ['audit', 'vocabulary'] as const, queryFn: fetchVocabulary, staleTime: Infinity };

interface Filters {
  category: string;
  action: ActionName | '';
  actor: string;
  target: string;
  from: string;
  to: string;
}

const noFilters: Filters = { category: '', action: '', actor: '', target: '', from: '', to: '' };

function toQuery(filters: Filters): AuditQuery {
  return {
    limit: PAGE_SIZE,
    ...(filters.category ? { category: filters.category } : {}),
    ...(filters.action ? { action: filters.action } : {}),
    ...(filters.actor.trim() ? { actor: filters.actor.trim() } : {}),
    ...(filters.target.trim() ? { target: filters.target.trim() } : {}),
    ...(filters.from ? { from: dayBoundary(filters.from, 'start') } : {}),
    ...(filters.to ? { to: dayBoundary(filters.to, 'end') } : {}),
  };
}

const categoryTones: Record<string, BadgeTone> = {
  session: 'blue',
  organization: 'teal',
  member: 'violet',
  user: 'green',
  token: 'amber',
  instance: 'blue',
  backup: 'teal',
};

function FilterBar({ vocabulary, onApply }: { vocabulary: Vocabulary; onApply(filters: Filters): void }) {
  const [draft, setDraft] = useState<Filters>(noFilters);
  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    setDraft((current) => ({ ...current, [key]: event.target.value }));
  // The actions offered follow the category; another category's action is dropped.
  const targets = draft.category ? vocabulary.filter((t) => t.type === draft.category) : vocabulary;
  const chooseCategory = (event: { target: { value: string } }) => {
    const category = event.target.value;
    setDraft((current) => ({
      ...current,
      category,
      action: category && current.action && !current.action.startsWith(`${category}.`) ? '' : current.action,
    }));
  };

  function submit(event: FormEvent) {
    event.preventDefault();
    onApply(draft);
  }

  return (
    <form className="filters card" onSubmit={submit} aria-label="Filter audit events">
      <div className="filter">
        <label htmlFor="audit-category">Category</label>
        <select id="audit-category" value={draft.category} onChange={chooseCategory}>
          <option value="">All categories</option>
          {vocabulary.map((t) => (
            <option key={t.type} value={t.type} title={t.describe}>
              {t.type}
            </option>
          ))}
        </select>
      </div>
      <div className="filter">
        <label htmlFor="audit-action">Action</label>
        <select id="audit-action" value={draft.action} onChange={set('action')}>
          <option value="">All actions</option>
          {targets.map((t) => (
            <optgroup key={t.type} label={t.type}>
              {t.actions.map((a) => (
                <option key={a.action} value={a.action} title={a.describe}>
                  {a.action}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </div>
      <div className="filter">
        <label htmlFor="audit-actor">Actor</label>
        <input id="audit-actor" placeholder="Email or user id" value={draft.actor} onChange={set('actor')} />
      </div>
      <div className="filter">
        <label htmlFor="audit-target">Target</label>
        <input id="audit-target" placeholder="Email, slug, token…" value={draft.target} onChange={set('target')} />
      </div>
      <div className="filter filter-date">
        <label htmlFor="audit-from">From</label>
        <input id="audit-from" type="date" value={draft.from} onChange={set('from')} />
      </div>
      <div className="filter filter-date">
        <label htmlFor="audit-to">To</label>
        <input id="audit-to" type="date" value={draft.to} onChange={set('to')} />
      </div>
      <div className="filter-actions">
        <button type="submit" className="btn btn-primary">
          Apply
        </button>
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => {
            setDraft(noFilters);
            onApply(noFilters);
          }}
        >
          Reset
        </button>
      </div>
    </form>
  );
}

/** The events, each with a details row the reader opens when it has details. */
function AuditTable({ events, slugs }: { events: AuditEvent[]; slugs: Map<string, string> }) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  function toggle(id: string) {
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }
  const hasDetails = (event: AuditEvent) => Object.keys(event.details).length > 0;
  return (
    <DataTable
      label="Audit events"
      className="table-compact"
      rows={events}
      rowKey={(event) => event.id}
      rowProps={(event) => ({ 'data-testid': 'audit-row', 'data-category': event.category })}
      rowDetails={(event) =>
        open.has(event.id) && hasDetails(event) ? <pre>{JSON.stringify(event.details, null, 2)}</pre> : null
      }
      columns={[
        {
          header: 'Time',
          className: 'nowrap',
          cellProps: (event) => ({ title: `${formatDateTime(event.at)} (${formatRelative(event.at)})` }),
          cell: (event) => (
            <time dateTime={event.at} className="stacked-time">
              <span>{formatDate(event.at)}</span>
              <span className="muted">{formatTime(event.at)}</span>
            </time>
          ),
        },
        {
          header: 'Action',
          cell: (event) => (
            <span
              className={`badge badge-${categoryTones[event.category] ?? 'gray'} audit-action`}
              data-testid="audit-action"
            >
              {event.action}
            </span>
          ),
        },
        { header: 'Actor', cell: (event) => event.actor.label },
        {
          header: 'Target',
          cell: (event) =>
            event.target ? (
              <span>
                <span className="muted">{event.target.type}</span> {event.target.label ?? event.target.id}
              </span>
            ) : (
              <span className="muted">—</span>
            ),
        },
        {
          header: 'Organization',
          className: 'mono',
          cell: (event) =>
            (event.organizationId ? slugs.get(event.organizationId) : undefined) ?? (
              <span className="muted">{event.organizationId ? event.organizationId.slice(0, 8) : '—'}</span>
            ),
        },
        { header: 'IP', className: 'mono muted', cell: (event) => event.ip ?? '—' },
        {
          header: 'Details',
          hiddenHeader: true,
          cell: (event) =>
            hasDetails(event) ? (
              <button
                type="button"
                className="btn btn-ghost btn-small"
                aria-expanded={open.has(event.id)}
                onClick={() => toggle(event.id)}
              >
                {open.has(event.id) ? 'Hide' : 'Show'}
                <span className="visually-hidden"> details of {event.action}</span>
              </button>
            ) : null,
        },
      ]}
    />
  );
}

export function AuditPage() {
  const [filters, setFilters] = useState<Filters>(noFilters);
  const vocabulary = useQuery(vocabularyQuery);
  const organizations = useQuery(organizationsQuery());
  const audit = useInfiniteQuery(auditEventsQuery(toQuery(filters)));
  const events = useMemo(() => audit.data?.pages.flatMap((page) => page.events) ?? [], [audit.data]);
  // A failed "Load more" keeps the pages already shown; a failed first page shows instead of them.
  const moreError = audit.isFetchNextPageError ? audit.error : null;
  const firstPage = { loading: audit.isPending, error: audit.isFetchNextPageError ? null : audit.error };

  const slugs = useMemo(() => new Map((organizations.data ?? []).map((o) => [o.id, o.slug])), [organizations.data]);

  function loadMore() {
    void audit.fetchNextPage();
  }

  const filtered = JSON.stringify(filters) !== JSON.stringify(noFilters);

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Every sign-in and change in Marina, newest first. Entries cannot be edited or deleted."
      />
      <FilterBar vocabulary={vocabulary.data ?? []} onApply={setFilters} />
      <section className="card card-flush">
        {firstPage.error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(firstPage.error)}</Alert>
          </div>
        ) : null}
        {firstPage.loading ? <Loading /> : null}
        {!firstPage.loading && !firstPage.error && events.length === 0 ? (
          <EmptyState icon={<ShieldIcon width={28} height={28} />} title="No events">
            <p>{filtered ? 'Nothing matches these filters.' : 'Nothing has happened yet.'}</p>
          </EmptyState>
        ) : null}
        {!firstPage.loading && events.length > 0 ? <AuditTable events={events} slugs={slugs} /> : null}
        {moreError ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(moreError)}</Alert>
          </div>
        ) : null}
        {audit.hasNextPage && !firstPage.loading ? (
          <div className="card-footer">
            <button type="button" className="btn btn-secondary" onClick={loadMore} disabled={audit.isFetchingNextPage}>
              {audit.isFetchingNextPage ? 'Loading…' : 'Load more'}
            </button>
          </div>
        ) : null}
      </section>
    </>
  );
}

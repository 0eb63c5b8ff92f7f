import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { api, call } from '../api/client';
import { errorMessage } from '../api/errors';
import type { AuditEvent, AuditQuery } from '../api/types';
import { Alert } from '../components/Alert';
import type { BadgeTone } from '../components/Badge';
import { EmptyState, Loading } from '../components/EmptyState';
import { ShieldIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { dayBoundary, formatDate, formatDateTime, formatRelative, formatTime } from '../format';
import { useLoader } from '../useLoader';

const PAGE_SIZE = 50;

interface Filters {
  category: string;
  actor: string;
  target: string;
  from: string;
  to: string;
}

const noFilters: Filters = { category: '', actor: '', target: '', from: '', to: '' };

function toQuery(filters: Filters, cursor?: string): AuditQuery {
  return {
    limit: PAGE_SIZE,
    ...(filters.category ? { category: filters.category } : {}),
    ...(filters.actor.trim() ? { actor: filters.actor.trim() } : {}),
    ...(filters.target.trim() ? { target: filters.target.trim() } : {}),
    ...(filters.from ? { from: dayBoundary(filters.from, 'start') } : {}),
    ...(filters.to ? { to: dayBoundary(filters.to, 'end') } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

const categoryTones: Record<string, BadgeTone> = {
  auth: 'blue',
  organization: 'teal',
  member: 'violet',
  user: 'green',
  token: 'amber',
};

function FilterBar({ categories, onApply }: { categories: string[]; onApply(filters: Filters): void }) {
  const [draft, setDraft] = useState<Filters>(noFilters);
  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    setDraft((current) => ({ ...current, [key]: event.target.value }));

  function submit(event: FormEvent) {
    event.preventDefault();
    onApply(draft);
  }

  return (
    <form className="filters card" onSubmit={submit} aria-label="Filter audit events">
      <div className="filter">
        <label htmlFor="audit-category">Category</label>
        <select id="audit-category" value={draft.category} onChange={set('category')}>
          <option value="">All categories</option>
          {categories.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
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

function EventRow({ event, organizationSlug }: { event: AuditEvent; organizationSlug: string | undefined }) {
  const [open, setOpen] = useState(false);
  const hasDetails = Object.keys(event.details).length > 0;
  return (
    <>
      <tr data-testid="audit-row" data-category={event.category}>
        <td className="nowrap" title={`${formatDateTime(event.at)} (${formatRelative(event.at)})`}>
          <time dateTime={event.at} className="stacked-time">
            <span>{formatDate(event.at)}</span>
            <span className="muted">{formatTime(event.at)}</span>
          </time>
        </td>
        <td>
          <span
            className={`badge badge-${categoryTones[event.category] ?? 'gray'} audit-action`}
            data-testid="audit-action"
          >
            {event.action}
          </span>
        </td>
        <td>{event.actor.label}</td>
        <td>
          {event.target ? (
            <span>
              <span className="muted">{event.target.type.replace('_', ' ')}</span>{' '}
              {event.target.label ?? event.target.id}
            </span>
          ) : (
            <span className="muted">—</span>
          )}
        </td>
        <td className="mono">
          {organizationSlug ?? (
            <span className="muted">{event.organizationId ? event.organizationId.slice(0, 8) : '—'}</span>
          )}
        </td>
        <td className="mono muted">{event.ip ?? '—'}</td>
        <td>
          {hasDetails ? (
            <button
              type="button"
              className="btn btn-ghost btn-small"
              aria-expanded={open}
              onClick={() => setOpen(!open)}
            >
              {open ? 'Hide' : 'Show'}
              <span className="visually-hidden"> details of {event.action}</span>
            </button>
          ) : null}
        </td>
      </tr>
      {open ? (
        <tr className="details-row">
          <td colSpan={7}>
            <pre>{JSON.stringify(event.details, null, 2)}</pre>
          </td>
        </tr>
      ) : null}
    </>
  );
}

export function AuditPage() {
  const [filters, setFilters] = useState<Filters>(noFilters);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);

  const categories = useLoader(async () => (await call(api.GET('/api/v1/audit/categories'))).categories, 'categories');
  const organizations = useLoader(
    async () => (await call(api.GET('/api/v1/organizations'))).organizations,
    'organizations',
  );
  const firstPage = useLoader(
    () => call(api.GET('/api/v1/audit', { params: { query: toQuery(filters) } })),
    JSON.stringify(filters),
  );

  useEffect(() => {
    if (!firstPage.data) return;
    setEvents(firstPage.data.events);
    setNextCursor(firstPage.data.nextCursor);
    setMoreError(null);
  }, [firstPage.data]);

  const slugs = useMemo(() => new Map((organizations.data ?? []).map((o) => [o.id, o.slug])), [organizations.data]);

  async function loadMore() {
    if (!nextCursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await call(api.GET('/api/v1/audit', { params: { query: toQuery(filters, nextCursor) } }));
      setEvents((current) => [...current, ...page.events]);
      setNextCursor(page.nextCursor);
    } catch (error) {
      setMoreError(error);
    } finally {
      setLoadingMore(false);
    }
  }

  const filtered = JSON.stringify(filters) !== JSON.stringify(noFilters);

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Every sign-in and change in Marina, newest first. Entries cannot be edited or deleted."
      />
      <FilterBar categories={categories.data ?? []} onApply={setFilters} />
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
        {!firstPage.loading && events.length > 0 ? (
          <div className="table-wrap">
            <table className="table table-compact" aria-label="Audit events">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Action</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Target</th>
                  <th scope="col">Organization</th>
                  <th scope="col">IP</th>
                  <th scope="col">
                    <span className="visually-hidden">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {events.map((event) => (
                  <EventRow
                    key={event.id}
                    event={event}
                    organizationSlug={event.organizationId ? slugs.get(event.organizationId) : undefined}
                  />
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {moreError ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(moreError)}</Alert>
          </div>
        ) : null}
        {nextCursor && !firstPage.loading ? (
          <div className="card-footer">
            <button type="button" className="btn btn-secondary" onClick={loadMore} disabled={loadingMore}>
              {loadingMore ? 'Loading…' : 'Load more'}
            </button>
          </div>
        ) : null}
      </section>
    </>
  );
}

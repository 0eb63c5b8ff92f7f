import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { type Column, DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { UsersIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { ProgressBar } from '../../components/ProgressBar';
import { formatDate, formatRelative } from '../../format';
import { formatBytes } from '../../operate';
import { useMe } from '../../session/SessionContext';
import { NotFoundPage } from '../NotFoundPage';
import {
  type CustomerRow,
  type CustomerSort,
  type CustomersQuery,
  type CustomersTotals,
  customersQuery,
  formatMoney,
  PAGE_SIZE,
  type StatusFilter,
  statuses,
  statusLook,
} from './api';
import { CustomerActions } from './CustomerActions';
import { CustomerCharts } from './CustomerCharts';
import '../../styles/customers.css';

const sorts: CustomerSort[] = ['name', 'status', 'trialEndsAt', 'instances', 'storageBytes', 'lastBackupAt', 'price'];
const SEARCH_DELAY_MS = 300;

/** The list's query from the address (`?q=&status=&sort=&dir=`), so a reload or a shared link keeps it. */
function queryOf(params: URLSearchParams): CustomersQuery {
  const status = statuses.find((s) => s.id === params.get('status'))?.id;
  const sort = sorts.find((s) => s === params.get('sort'));
  const q = params.get('q')?.trim();
  return {
    limit: PAGE_SIZE,
    ...(q ? { q } : {}),
    ...(status ? { status } : {}),
    ...(sort ? { sort } : {}),
    ...(params.get('dir') === 'desc' ? { dir: 'desc' as const } : {}),
  };
}

/** Platform admins only: every organization as a customer. Anyone else finds no such page. */
export function CustomersPage() {
  const me = useMe();
  if (!me.user.isPlatformAdmin) return <NotFoundPage />;
  return <Customers />;
}

function Customers() {
  const [params, setParams] = useSearchParams();
  const query = queryOf(params);
  const list = useInfiniteQuery(customersQuery(query));
  const rows = useMemo(() => list.data?.pages.flatMap((page) => page.rows) ?? [], [list.data]);
  // The totals are over the whole filtered set: the first page carries them.
  const totals = list.data?.pages[0]?.totals;
  const moreError = list.isFetchNextPageError ? list.error : null;
  const firstError = list.isFetchNextPageError ? null : list.error;
  const [search, setSearch] = useState(query.q ?? '');

  function update(changes: Record<string, string | null>) {
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        for (const [key, value] of Object.entries(changes)) {
          if (value) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace: true },
    );
  }

  // Typing searches once the typist pauses, not on every key.
  // biome-ignore lint/correctness/useExhaustiveDependencies: only the typed text starts a search.
  useEffect(() => {
    if (search.trim() === (query.q ?? '')) return;
    const timer = setTimeout(() => update({ q: search.trim() || null }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search]);

  function sortBy(sort: CustomerSort) {
    const current = query.sort ?? 'name';
    const dir = current === sort && query.dir !== 'desc' ? 'desc' : null;
    update({ sort: sort === 'name' ? null : sort, dir });
  }

  const sortHeader = (label: string, sort: CustomerSort) => {
    const active = (query.sort ?? 'name') === sort;
    const arrow = active ? (query.dir === 'desc' ? ' ↓' : ' ↑') : '';
    return (
      <button
        type="button"
        className={active ? 'customers-sort active' : 'customers-sort'}
        onClick={() => sortBy(sort)}
        aria-label={`Sort by ${label.toLowerCase()}${active ? (query.dir === 'desc' ? ', descending' : ', ascending') : ''}`}
      >
        {label}
        {arrow}
      </button>
    );
  };

  const columns: Column<CustomerRow>[] = [
    {
      header: sortHeader('Organization', 'name'),
      cardLabel: 'Organization',
      cell: (r) => (
        <div>
          <Link to={`/organizations/${r.organization.slug}`} className="row-title">
            {r.organization.name}
          </Link>
          <div className="muted mono customers-slug">{r.organization.slug}</div>
        </div>
      ),
    },
    { header: 'Plan', cell: (r) => r.plan?.name ?? <span className="muted">—</span> },
    {
      header: sortHeader('State', 'status'),
      cardLabel: 'State',
      cell: (r) => {
        const look = statusLook(r.status);
        return (
          <span data-status={r.status ?? 'none'}>
            <Badge tone={look.tone}>{look.label}</Badge>
          </span>
        );
      },
    },
    {
      header: sortHeader('Trial ends', 'trialEndsAt'),
      cardLabel: 'Trial ends',
      cell: (r) =>
        r.trialEndsAt && r.status !== 'active' ? (
          <span title={r.trialEndsAt} data-trial-end={r.trialEndsAt}>
            {formatDate(r.trialEndsAt)}
          </span>
        ) : (
          <span className="muted">—</span>
        ),
    },
    {
      header: sortHeader('Instances', 'instances'),
      cardLabel: 'Instances',
      className: 'num',
      headerClassName: 'num',
      cell: (r) => r.instances,
    },
    {
      header: sortHeader('Storage', 'storageBytes'),
      cardLabel: 'Storage',
      cell: (r) => <StorageCell row={r} />,
    },
    {
      header: sortHeader('Last backup', 'lastBackupAt'),
      cardLabel: 'Last backup',
      cell: (r) =>
        r.lastBackupAt ? (
          <span title={r.lastBackupAt}>{formatRelative(r.lastBackupAt)}</span>
        ) : (
          <span className="muted">never</span>
        ),
    },
    {
      header: sortHeader('Monthly', 'price'),
      cardLabel: 'Monthly',
      className: 'num',
      headerClassName: 'num',
      cell: (r) =>
        r.monthlyPriceMinor !== null && r.currency ? (
          formatMoney(r.monthlyPriceMinor, r.currency)
        ) : (
          <span className="muted">—</span>
        ),
    },
    { header: 'Actions', hiddenHeader: true, className: 'actions', cell: (r) => <CustomerActions row={r} /> },
  ];

  const filtered = Boolean(query.q || query.status);

  return (
    <>
      <PageHeader
        title="Customers"
        subtitle="Every organization with its plan and where it is in its lifecycle: trials, paying customers, suspensions."
        actions={
          <Link className="btn btn-secondary" to="/settings?tab=lifecycle">
            Lifecycle settings
          </Link>
        }
      />
      {totals ? <Totals totals={totals} /> : null}
      {totals ? <CustomerCharts totals={totals} /> : null}
      <form className="filters card" aria-label="Filter customers" onSubmit={(e) => e.preventDefault()}>
        <div className="filter">
          <label htmlFor="customers-search">Search</label>
          <input
            id="customers-search"
            type="search"
            placeholder="Name or slug"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <div className="filter">
          <label htmlFor="customers-status">State</label>
          <select
            id="customers-status"
            value={query.status ?? ''}
            onChange={(e) => update({ status: (e.target.value as StatusFilter) || null })}
          >
            <option value="">All states</option>
            {statuses.map((s) => (
              <option key={s.id} value={s.id}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
      </form>
      <section className="card card-flush" aria-label="Customers">
        {firstError ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(firstError)}</Alert>
          </div>
        ) : null}
        {list.isPending ? <Loading /> : null}
        {!list.isPending && !firstError ? (
          <DataTable
            label="Customers"
            className="customers-table"
            columns={columns}
            rows={rows}
            rowKey={(r) => r.organization.id}
            rowProps={(r) => ({ 'data-organization': r.organization.slug })}
            empty={
              <EmptyState icon={<UsersIcon width={28} height={28} />} title="No customers">
                <p>{filtered ? 'No organization matches this search.' : 'There is no organization yet.'}</p>
              </EmptyState>
            }
          />
        ) : null}
        {moreError ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(moreError)}</Alert>
          </div>
        ) : null}
        {list.hasNextPage && !list.isPending ? (
          <div className="card-footer">
            <button
              type="button"
              className="btn btn-secondary"
              onClick={() => void list.fetchNextPage()}
              disabled={list.isFetchingNextPage}
            >
              {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
            </button>
          </div>
        ) : null}
      </section>
    </>
  );
}

/** Storage used against the plan's storage, as a small bar; the figure alone without a plan's limit. */
function StorageCell({ row }: { row: CustomerRow }) {
  const used = formatBytes(row.storageBytes);
  if (row.storageLimitBytes === null) return <span>{used}</span>;
  const percent = row.storageLimitBytes > 0 ? (row.storageBytes / row.storageLimitBytes) * 100 : 100;
  const tone = percent >= 100 ? 'red' : percent >= 80 ? 'amber' : 'brand';
  return (
    <div className="customers-storage">
      <span>
        {used} <span className="muted">/ {formatBytes(row.storageLimitBytes)}</span>
      </span>
      <ProgressBar value={percent} tone={tone} label={`Storage: ${Math.round(percent)} % of the plan`} />
    </div>
  );
}

/** Customers by state, instances, storage and monthly recurring revenue over the filtered set. */
function Totals({ totals }: { totals: CustomersTotals }) {
  const mrr = Object.entries(totals.mrrMinor).sort(([a], [b]) => a.localeCompare(b));
  const trials = totals.byStatus.trialing ?? 0;
  const active = totals.byStatus.active ?? 0;
  const suspended = totals.byStatus.suspended ?? 0;
  return (
    <div className="stats customers-stats" data-testid="customers-totals">
      <div className="card stat" data-total="organizations">
        <span className="stat-label">Customers</span>
        <span className="stat-value">{totals.organizations}</span>
        <span className="muted">
          {active} active · {trials} in trial · {suspended} suspended
        </span>
      </div>
      <div className="card stat" data-total="instances">
        <span className="stat-label">Instances</span>
        <span className="stat-value">{totals.instances}</span>
      </div>
      <div className="card stat" data-total="storage">
        <span className="stat-label">Storage used</span>
        <span className="stat-value">{formatBytes(totals.storageBytes)}</span>
      </div>
      <div className="card stat" data-total="mrr">
        <span className="stat-label">Monthly recurring revenue</span>
        {mrr.length === 0 ? (
          <span className="stat-muted">None yet</span>
        ) : (
          mrr.map(([currency, minor]) => (
            <span key={currency} className="stat-value customers-mrr" data-currency={currency}>
              {formatMoney(minor, currency)}
            </span>
          ))
        )}
      </div>
    </div>
  );
}

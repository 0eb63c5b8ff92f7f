import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { containsPattern } from '../../db/like.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { Actor } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';

export const overviewSorts = [
  'name',
  'status',
  'trialEndsAt',
  'instances',
  'storageBytes',
  'lastBackupAt',
  'price',
] as const;
export type OverviewSort = (typeof overviewSorts)[number];

export interface OverviewQuery {
  q?: string;
  /** A subscription status, or `none` for organizations without a subscription. */
  status?: string;
  sort?: OverviewSort;
  dir?: 'asc' | 'desc';
  cursor?: string;
  limit?: number;
}

export interface CustomerRow {
  organization: { id: string; slug: string; name: string };
  plan: { id: string; name: string } | null;
  status: string | null;
  trialEndsAt: string | null;
  instances: number;
  storageBytes: number;
  storageLimitBytes: number | null;
  lastBackupAt: string | null;
  monthlyPriceMinor: number | null;
  currency: string | null;
}

export interface CustomersOverview {
  rows: CustomerRow[];
  totals: {
    organizations: number;
    byStatus: Record<string, number>;
    instances: number;
    storageBytes: number;
    mrrMinor: Record<string, number>;
  };
  nextCursor: string | null;
}

/** Sort keys → the column of the `customers` set below (a closed list: nothing from the query string reaches SQL). */
const sortColumns: Record<OverviewSort, RawBuilder<unknown>> = {
  name: sql.ref('c.name'),
  status: sql.ref('c.status'),
  trialEndsAt: sql.ref('c.trial_ends_at'),
  instances: sql.ref('c.instances'),
  storageBytes: sql.ref('c.storage_bytes'),
  lastBackupAt: sql.ref('c.last_backup_at'),
  price: sql.ref('c.monthly_price_minor'),
};

const MAX_LIMIT = 200;

/** The cursor is the next row's offset, opaque to clients. */
const encodeCursor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');
function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match)
    throw new MarinaError('MARINA_E_VALIDATION', 'The cursor is not one this list gave.', { field: 'cursor' });
  return Number(match[1]);
}

interface RawRow {
  id: string;
  slug: string;
  name: string;
  plan_id: string | null;
  plan_name: string | null;
  status: string | null;
  trial_ends_at: string | null;
  instances: number;
  storage_bytes: string | number;
  storage_limit_bytes: string | number | null;
  last_backup_at: string | null;
  monthly_price_minor: string | number | null;
  currency: string | null;
}

/**
 * The operator's list of customers: every organization with its plan, status, instances, storage,
 * last backup and monthly price, plus totals over the whole filtered set (by status, instances,
 * storage, and MRR per currency: active subscriptions' monthly price, a yearly one /12 rounded
 * down — #20 replaces it with invoiced revenue). One SQL query with aggregates.
 */
export async function customersOverview(db: Db, actor: Actor, query: OverviewQuery): Promise<CustomersOverview> {
  requirePlatformAdmin(actor);
  const limit = Math.min(Math.max(query.limit ?? 50, 1), MAX_LIMIT);
  const offset = decodeCursor(query.cursor);
  const sort = sortColumns[query.sort ?? 'name'];
  const dir = query.dir === 'desc' ? sql`desc` : sql`asc`;
  const search = query.q?.trim() ? containsPattern(query.q.trim()) : null;
  const status = query.status?.trim() || null;
  const result = await sql<{ page: RawRow[] | null; totals: CustomersOverview['totals'] }>`
    with c as (
      select o.id, o.slug, o.name, s.plan_id, p.name as plan_name, s.status, s.trial_ends_at,
        (select count(*)::int from instances i where i.organization_id = o.id and i.status <> 'deleting') as instances,
        coalesce((select sum(u.database_bytes + u.filestore_bytes) from instance_usage u where u.organization_id = o.id), 0) as storage_bytes,
        p.storage_mb::bigint * 1048576 as storage_limit_bytes,
        (select max(b.completed_at) from backups b where b.organization_id = o.id and b.status = 'completed') as last_backup_at,
        price.monthly as monthly_price_minor, price.currency
      from organizations o
      left join subscriptions s on s.organization_id = o.id
      left join plans p on p.id = s.plan_id
      left join lateral (
        select case when pp.period = 'year' then floor(pp.amount_minor / 12) else pp.amount_minor end as monthly, pp.currency
        from plan_prices pp
        where pp.plan_id = s.plan_id and (s.currency is null or pp.currency = s.currency)
        order by (pp.period = coalesce(s.period, 'month')) desc, pp.currency
        limit 1
      ) price on true
      where (${search}::text is null or o.slug ilike ${search} or o.name ilike ${search})
        and (${status}::text is null or coalesce(s.status, 'none') = ${status})
    )
    select
      (select json_agg(x) from (
        select * from c order by ${sort} ${dir} nulls last, c.slug asc limit ${limit + 1} offset ${offset}
      ) x) as page,
      json_build_object(
        'organizations', (select count(*) from c),
        'byStatus', coalesce((select json_object_agg(st, n) from (
          select coalesce(status, 'none') as st, count(*) as n from c group by 1) t), '{}'::json),
        'instances', coalesce((select sum(instances) from c), 0),
        'storageBytes', coalesce((select sum(storage_bytes) from c), 0),
        'mrrMinor', coalesce((select json_object_agg(currency, m) from (
          select currency, sum(monthly_price_minor) as m from c
          where status = 'active' and currency is not null group by currency) r), '{}'::json)
      ) as totals
  `.execute(db);
  const row = result.rows[0];
  const page = row?.page ?? [];
  const more = page.length > limit;
  const totals = row?.totals ?? { organizations: 0, byStatus: {}, instances: 0, storageBytes: 0, mrrMinor: {} };
  return {
    rows: page.slice(0, limit).map(customerRow),
    totals: {
      organizations: Number(totals.organizations),
      byStatus: Object.fromEntries(Object.entries(totals.byStatus).map(([k, v]) => [k, Number(v)])),
      instances: Number(totals.instances),
      storageBytes: Number(totals.storageBytes),
      mrrMinor: Object.fromEntries(Object.entries(totals.mrrMinor).map(([k, v]) => [k, Number(v)])),
    },
    nextCursor: more ? encodeCursor(offset + limit) : null,
  };
}

const isoOrNull = (value: string | null) => (value ? new Date(value).toISOString() : null);
const numberOrNull = (value: string | number | null) => (value === null ? null : Number(value));

function customerRow(r: RawRow): CustomerRow {
  return {
    organization: { id: r.id, slug: r.slug, name: r.name },
    plan: r.plan_id ? { id: r.plan_id, name: r.plan_name ?? '' } : null,
    status: r.status,
    trialEndsAt: isoOrNull(r.trial_ends_at),
    instances: Number(r.instances),
    storageBytes: Number(r.storage_bytes),
    storageLimitBytes: numberOrNull(r.storage_limit_bytes),
    lastBackupAt: isoOrNull(r.last_backup_at),
    monthlyPriceMinor: numberOrNull(r.monthly_price_minor),
    currency: r.currency ? r.currency.trim() : null,
  };
}

/**
 * The instance list: only the columns a view shows (never the sealed secrets), newest first, a
 * page at a time when asked. The cursor is the last row's id; the next page starts strictly after
 * its (created_at, id), so rows created in the same instant are neither skipped nor repeated.
 */
import { type SelectQueryBuilder, sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { containsPattern } from '../../db/like.js';
import type { Database, Instance, InstanceStatus } from '../../db/schema.js';
import { memberOrganizations } from '../../platform/access.js';
import type { Actor } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';

export const LISTED_COLUMNS = [
  'id',
  'organization_id',
  'project_id',
  'name',
  'stage',
  'odoo_version',
  'host_id',
  'status',
  'status_detail',
  'health',
  'hostname',
  'primary_hostname',
  'http_port',
  'cpus',
  'memory_mb',
  'admin_login',
  'language',
  'country',
  'db_name',
  'cloned_from_id',
  'undo_until',
  'undo_operation_id',
  'admin_password_source',
  'admin_password_from',
  'admin_password_at',
  'admin_password_known',
  'started_at',
  'created_at',
] as const satisfies readonly (keyof Instance)[];

export type ListedInstance = Pick<Instance, (typeof LISTED_COLUMNS)[number]>;

export interface InstanceListQuery {
  projectId?: string;
  organizationId?: string;
  /** A part of the instance's name, or of its organization's slug or project's name, any case. */
  search?: string;
  /** Without a limit: every instance the actor can see. */
  limit?: number;
  cursor?: string;
  /** false: the first page skips counting every matching row (a picker shows no total). */
  counts?: boolean;
}

/** What "Restart all" would look at, and what the UI counts as running. */
const RUNNING: InstanceStatus[] = ['running', 'unhealthy'];

/** Over every page, not just the one answered: a paged list knows how long it is. */
export interface InstanceCounts {
  total: number;
  running: number;
}

export interface InstancePage {
  rows: ListedInstance[];
  nextCursor: string | null;
  /** On the first page (no cursor) only, unless not asked for: later pages would count the same rows again. */
  counts: InstanceCounts | null;
}

/** The instances the actor may see, narrowed by the query's filters (not its page). */
function visible<O>(
  db: Db,
  q: SelectQueryBuilder<Database, 'instances', O>,
  actor: Actor,
  query: InstanceListQuery,
): SelectQueryBuilder<Database, 'instances', O> {
  if (actor.kind === 'user' && !actor.isPlatformAdmin)
    q = q.where('organization_id', 'in', memberOrganizations(db, actor));
  if (query.projectId) q = q.where('project_id', '=', query.projectId);
  if (query.organizationId) q = q.where('organization_id', '=', query.organizationId);
  if (query.search) {
    const pattern = containsPattern(query.search);
    // Organizations and projects are few next to instances: their matches are a small id set
    // each, and no join widens the rows or their order. The access filter above still applies.
    q = q.where((eb) =>
      eb.or([
        eb('instances.name', 'ilike', pattern),
        eb(
          'instances.organization_id',
          'in',
          eb.selectFrom('organizations').select('organizations.id').where('organizations.slug', 'ilike', pattern),
        ),
        eb(
          'instances.project_id',
          'in',
          eb.selectFrom('projects').select('projects.id').where('projects.name', 'ilike', pattern),
        ),
      ]),
    );
  }
  return q;
}

export async function listInstances(db: Db, actor: Actor, query: InstanceListQuery): Promise<InstancePage> {
  let q = visible(db, db.selectFrom('instances').select(LISTED_COLUMNS), actor, query);
  if (query.cursor) {
    const after = await db
      .selectFrom('instances')
      .select(['created_at', 'id'])
      .where('id', '=', query.cursor)
      .executeTakeFirst();
    if (!after) throw new MarinaError('MARINA_E_VALIDATION', 'Unknown cursor.', { field: 'cursor' });
    q = q.where(sql<boolean>`(created_at, id) < (${after.created_at}, ${after.id})`);
  }
  q = q.orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (query.limit === undefined) {
    const rows = await q.execute();
    const running = rows.filter((row) => RUNNING.includes(row.status)).length;
    return { rows, nextCursor: null, counts: { total: rows.length, running } };
  }
  q = q.limit(query.limit + 1);
  if (query.cursor || query.counts === false) return pageOf(await q.execute(), query.limit, null);
  return countedPage(db, q, actor, query, query.limit);
}

function pageOf(rows: ListedInstance[], limit: number, counts: InstanceCounts | null): InstancePage {
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null, counts };
}

/**
 * The first page and the counts in one statement: one round trip and one plan instead of two
 * (under many clients each query's fixed cost is most of a page's), and both from one snapshot, so
 * the total never disagrees with the rows. The counts' row is there even when no instance is.
 */
async function countedPage(
  db: Db,
  listed: SelectQueryBuilder<Database, 'instances', ListedInstance>,
  actor: Actor,
  query: InstanceListQuery,
  limit: number,
): Promise<InstancePage> {
  const rows = await db
    .with('counted', () =>
      visible(db, db.selectFrom('instances'), actor, query).select((eb) => [
        eb.fn.countAll<string>().as('total'),
        eb.fn.count<string>('id').filterWhere('status', 'in', RUNNING).as('running'),
      ]),
    )
    .with('listed', () => listed)
    .selectFrom('counted')
    .leftJoin('listed', (join) => join.onTrue())
    .selectAll('listed')
    .select(['counted.total as counted_total', 'counted.running as counted_running'])
    .orderBy('listed.created_at', 'desc')
    .orderBy('listed.id', 'desc')
    .execute();
  const first = rows[0];
  const counts = { total: Number(first?.counted_total ?? 0), running: Number(first?.counted_running ?? 0) };
  // The rows go as they came (the two counts ride along unread): a copy of each costs more than the
  // rest of the page under many clients.
  const instances = rows.filter((row) => row.id !== null) as ListedInstance[];
  return pageOf(instances, limit, counts);
}

/** The ids of every instance the actor can see: what a live stream filters by. */
export async function visibleInstanceIds(db: Db, actor: Actor): Promise<Set<string>> {
  const rows = await visible(db, db.selectFrom('instances').select('id'), actor, {}).execute();
  return new Set(rows.map((row) => row.id));
}

/**
 * The instance list: only the columns a view shows (never the sealed secrets), newest first, a
 * page at a time when asked. The cursor is the last row's id; the next page starts strictly after
 * its (created_at, id), so rows created in the same instant are neither skipped nor repeated.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Instance } from '../../db/schema.js';
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
  /** Without a limit: every instance the actor can see. */
  limit?: number;
  cursor?: string;
}

export async function listInstances(
  db: Db,
  actor: Actor,
  query: InstanceListQuery,
): Promise<{ rows: ListedInstance[]; nextCursor: string | null }> {
  let q = db.selectFrom('instances').select(LISTED_COLUMNS);
  if (actor.kind === 'user' && !actor.isPlatformAdmin)
    q = q.where('organization_id', 'in', memberOrganizations(db, actor));
  if (query.projectId) q = q.where('project_id', '=', query.projectId);
  if (query.organizationId) q = q.where('organization_id', '=', query.organizationId);
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
  if (query.limit === undefined) return { rows: await q.execute(), nextCursor: null };
  const rows = await q.limit(query.limit + 1).execute();
  const page = rows.slice(0, query.limit);
  return { rows: page, nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null };
}

/** The ids of every instance the actor can see: what a live stream filters by. */
export async function visibleInstanceIds(db: Db, actor: Actor): Promise<Set<string>> {
  let q = db.selectFrom('instances').select('id');
  if (actor.kind === 'user' && !actor.isPlatformAdmin)
    q = q.where('organization_id', 'in', memberOrganizations(db, actor));
  return new Set((await q.execute()).map((row) => row.id));
}

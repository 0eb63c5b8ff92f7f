import { type Kysely, sql } from 'kysely';

/**
 * The list pages walk these newest first, a page at a time (keyset on created_at, id): with the
 * index, a page reads its rows and stops instead of sorting every job or instance.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index operations_created_idx on operations (created_at desc, id desc)`.execute(db);
  await sql`create index operations_target_created_idx on operations (target_id, created_at desc, id desc)`.execute(db);
  await sql`create index instances_created_idx on instances (created_at desc, id desc)`.execute(db);
  await sql`create index instances_org_created_idx on instances (organization_id, created_at desc, id desc)`.execute(
    db,
  );
  await sql`create index instances_project_created_idx on instances (project_id, created_at desc, id desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const name of [
    'operations_created_idx',
    'operations_target_created_idx',
    'instances_created_idx',
    'instances_org_created_idx',
    'instances_project_created_idx',
  ])
    await sql`drop index if exists ${sql.id(name)}`.execute(db);
}

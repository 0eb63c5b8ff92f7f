import { type Kysely, sql } from 'kysely';

/**
 * What a restore or a clone over an instance replaced stays aside (`<db>_undo`, `filestore/<db>.undo`)
 * until `undo_until`, as its undo; the operation that put it there says what it was.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table instances add column undo_until timestamptz, add column undo_operation_id uuid`.execute(db);
  await sql`create index instances_undo_until_idx on instances (undo_until) where undo_until is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists instances_undo_until_idx`.execute(db);
  await sql`alter table instances drop column if exists undo_until, drop column if exists undo_operation_id`.execute(
    db,
  );
}

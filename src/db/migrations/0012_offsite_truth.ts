import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Each destination remembers its last connection test: the list shows its health, schedules warn.
  await db.schema
    .alterTable('destinations')
    .addColumn('last_tested_at', 'timestamptz')
    .addColumn('last_test_ok', 'boolean')
    .addColumn('last_test_error', 'text')
    .execute();
}

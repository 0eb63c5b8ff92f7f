import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A job waiting to try again says until when and why (users may cancel it then); a job queued
  // again after it failed names the one it repeats.
  await db.schema
    .alterTable('operations')
    .addColumn('waiting_until', 'timestamptz')
    .addColumn('waiting_for', 'text')
    .addColumn('retry_of', 'uuid', (c) => c.references('operations.id').onDelete('set null'))
    .execute();
}

import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Local (file://) repositories are a platform admin's grant to one organization at a time.
  await db.schema
    .alterTable('organizations')
    .addColumn('allow_file_repositories', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

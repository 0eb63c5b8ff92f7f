import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Where the users and passwords of an instance's database come from, so that Marina says what it
  // knows: a password it generated or set, or the users of a copy (a clone, a backup, an import).
  await db.schema
    .alterTable('instances')
    .addColumn('admin_password_source', 'text', (c) => c.notNull().defaultTo('generated'))
    .addColumn('admin_password_from', 'text')
    .addColumn('admin_password_at', 'timestamptz')
    // Not a secret: whether Marina knows a password that opens the database (lists show it).
    .addColumn('admin_password_known', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute();
  // Before this, a clone's record kept the new instance's generated login with an emptied password.
  await sql`UPDATE instances SET admin_password_source = 'copied', admin_password_known = false
            WHERE cloned_from_id IS NOT NULL`.execute(db);
}

import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A token may be read-only, and may be limited to one organization: it then reaches nothing
  // else, whatever its user may do. Deleting the organization deletes its tokens.
  await db.schema
    .alterTable('api_tokens')
    .addColumn('scope', 'text', (c) => c.notNull().defaultTo('write').check(sql`scope in ('read', 'write')`))
    .addColumn('organization_id', 'uuid', (c) => c.references('organizations.id').onDelete('cascade'))
    .execute();
  await db.schema.createIndex('api_tokens_organization_idx').on('api_tokens').column('organization_id').execute();

  // Sign-in attempts older than a day are pruned on every attempt; this keeps the delete cheap.
  await db.schema.createIndex('login_attempts_at_idx').on('login_attempts').column('at').execute();
}

export async function down(): Promise<void> {
  throw new Error("Marina migrations are forward-only; restore a backup of Marina's database to go back.");
}

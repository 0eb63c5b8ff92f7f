import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('backups')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    // A backup outlives its instance (the pre-delete safety backup is the point): the link goes, the label stays.
    .addColumn('instance_id', 'uuid', (c) => c.references('instances.id').onDelete('set null'))
    .addColumn('instance_label', 'text', (c) => c.notNull())
    .addColumn('odoo_version', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('full', 'database', 'filestore')`))
    .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('zip', 'native')`))
    .addColumn('trigger', 'text', (c) =>
      c.notNull().check(sql`trigger in ('manual', 'schedule', 'pre-restore', 'pre-update', 'pre-delete', 'import')`),
    )
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'running', 'completed', 'failed')`))
    .addColumn('file_name', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('pinned', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('error', 'text')
    .addColumn('operation_id', 'uuid', (c) => c.references('operations.id').onDelete('set null'))
    .addColumn('manifest', 'jsonb')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    // "completed" always comes with its checksum and size: a completed row without them is impossible.
    .addCheckConstraint(
      'backups_completed_has_checksum',
      sql`status <> 'completed' or (sha256 is not null and size_bytes is not null and completed_at is not null)`,
    )
    .execute();
  await db.schema.createIndex('backups_instance_idx').on('backups').columns(['instance_id', 'created_at']).execute();
  await db.schema.createIndex('backups_org_idx').on('backups').columns(['organization_id', 'created_at']).execute();

  await db.schema
    .alterTable('instances')
    .addColumn('cloned_from_id', 'uuid', (c) => c.references('instances.id').onDelete('set null'))
    .execute();
}

export async function down(): Promise<void> {
  throw new Error("Marina migrations are forward-only; restore a backup of Marina's database to go back.");
}

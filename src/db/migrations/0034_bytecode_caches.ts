import { type Kysely, sql } from 'kysely';

/**
 * Compiled Python of a mounted Odoo source tree, per host and image (src/modules/instances/bytecode.ts):
 * the row exists while its volume does, and `built_at` says it is complete enough to mount.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('bytecode_caches')
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    .addColumn('volume_name', 'text', (c) => c.notNull())
    .addColumn('image_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('built_at', 'timestamptz')
    .addColumn('build_ms', 'integer')
    .addPrimaryKeyConstraint('bytecode_caches_pkey', ['host_id', 'volume_name'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('bytecode_caches').execute();
}

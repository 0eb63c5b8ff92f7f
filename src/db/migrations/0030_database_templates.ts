import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Initialized Odoo databases kept per database server, copied with CREATE DATABASE … TEMPLATE.
  await db.schema
    .createTable('database_templates')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('database_server_id', 'uuid', (c) => c.notNull().references('database_servers.id').onDelete('cascade'))
    .addColumn('host_id', 'text', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
    // What a copy is made of: version, image id, installed modules with their checksums, language, demo.
    .addColumn('key_hash', 'text', (c) => c.notNull())
    // The same minus image and checksums: a newer build of one recipe replaces the older.
    .addColumn('recipe_hash', 'text', (c) => c.notNull())
    .addColumn('recipe', 'jsonb', (c) => c.notNull())
    .addColumn('db_name', 'text', (c) => c.notNull().unique())
    .addColumn('volume_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('building', 'ready', 'failed')`))
    .addColumn('error', 'text')
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('build_ms', 'integer')
    .addColumn('bytes', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ready_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .execute();
  // One build per key and server at a time: the second provisioning sees it and goes the cold way.
  await db.schema
    .createIndex('database_templates_key')
    .on('database_templates')
    .columns(['database_server_id', 'key_hash'])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('database_templates').execute();
}

import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // How an instance's Odoo sends mail (src/modules/mail/). The id is the instance's: one row each,
  // made when its setting is first written; no row means the stage's default.
  await db.schema
    .createTable('instance_mail_servers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().references('instances.id').onDelete('cascade'))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    // platform | own | catcher
    .addColumn('mode', 'text', (c) => c.notNull())
    // The customer's own server (mode "own"); the password sealed with the SecretBox.
    .addColumn('own_host', 'text')
    .addColumn('own_port', 'integer')
    .addColumn('own_security', 'text')
    .addColumn('own_username', 'text')
    .addColumn('own_password', 'text')
    // The instance's login on Marina's mail catcher (generated; the password sealed).
    .addColumn('catcher_username', 'text', (c) => c.unique())
    .addColumn('catcher_password', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Messages the catcher received, one row each; the raw message is a file under the data folder.
  await db.schema
    .createTable('caught_mails')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // The order messages arrived in (two can share a received_at): lists and rotation follow it.
    .addColumn('seq', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity())
    .addColumn('instance_id', 'uuid', (c) => c.notNull().references('instances.id').onDelete('cascade'))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('envelope_from', 'text')
    .addColumn('envelope_to', 'jsonb', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('from_header', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('to_header', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('has_html', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('attachment_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('caught_mails_instance_received')
    .on('caught_mails')
    .columns(['instance_id', 'seq desc'])
    .execute();
}

import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Push-hook deliveries already acted on, so a replay is recognised and refused. Kept for a while,
  // then pruned: the rate limit bounds how many rows a hook can add in that time.
  await db.schema
    .createTable('push_hook_deliveries')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('repository_id', 'uuid', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('provider', 'text', (c) => c.notNull())
    // The provider's delivery id (X-GitHub-Delivery, X-Gitea-Delivery, GitLab's idempotency key), when sent.
    .addColumn('delivery_id', 'text')
    // SHA-256 of the signed body: the delivery id is not signed, the body is.
    .addColumn('body_sha256', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('push_hook_deliveries_body')
    .on('push_hook_deliveries')
    .columns(['repository_id', 'body_sha256'])
    .unique()
    .execute();
  await db.schema
    .createIndex('push_hook_deliveries_delivery')
    .on('push_hook_deliveries')
    .columns(['repository_id', 'delivery_id'])
    .unique()
    .where(sql.ref('delivery_id'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('push_hook_deliveries_received')
    .on('push_hook_deliveries')
    .column('received_at')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('push_hook_deliveries').execute();
}

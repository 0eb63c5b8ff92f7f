import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Every step of a subscription's lifecycle, once: the unique key is the proof a step was done
  // (a reminder, a suspension, a grace end), written in the same transaction as the step.
  await db.schema
    .createTable('subscription_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    // done | skipped (a reminder whose moment passed after the trial ended)
    .addColumn('outcome', 'text', (c) => c.notNull().defaultTo('done'))
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text')
    .addColumn('cause', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('subscription_events_key', ['organization_id', 'key'])
    .execute();

  // A backup kept until a date (the final backups of a cancelled organization); null keeps it until deleted.
  await db.schema.alterTable('backups').addColumn('expires_at', 'timestamptz').execute();
}

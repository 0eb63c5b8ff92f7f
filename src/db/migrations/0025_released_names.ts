import { type Kysely, sql } from 'kysely';

/**
 * Platform hostnames of deleted instances: never given again, so a customer's stale
 * `erp.customer.com CNAME <label>.<base>` cannot let a newcomer who takes the label verify that
 * custom domain or receive its visitors (finding 3 of the sign-up review).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('released_hostnames')
    .addColumn('hostname', 'text', (c) => c.primaryKey())
    .addColumn('released_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The wildcard certificate Marina obtains itself for `*.<base domain>` and the base domain
  // (MARINA_EDGE_WILDCARD_DNS01, src/modules/edge/wildcard/): one row per base domain, so changing
  // MARINA_BASE_DOMAIN starts a new one. The keys are sealed with the SecretBox, bound to the row.
  await db.schema
    .createTable('edge_wildcard_certificates')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('domain', 'text', (c) => c.notNull().unique())
    // The ACME account Marina orders with (kept: a CA limits how many accounts one makes).
    .addColumn('acme_directory', 'text')
    .addColumn('account_key', 'text')
    .addColumn('account_url', 'text')
    // The certificate served now (PEM chain) and its key; null until the first one is obtained.
    .addColumn('certificate_pem', 'text')
    .addColumn('certificate_key', 'text')
    .addColumn('not_after', 'timestamptz')
    .addColumn('obtained_at', 'timestamptz')
    // The last attempt that failed (kept until one succeeds), and when to try again.
    .addColumn('last_error', 'text')
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

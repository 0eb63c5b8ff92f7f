import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // What the platform sells (src/modules/plans/). A null limit is no limit.
  await db.schema
    .createTable('plans')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    // Offered at sign-up; a private plan is given by a platform admin only.
    .addColumn('public', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('sort', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_production', 'integer')
    .addColumn('max_staging', 'integer')
    .addColumn('max_development', 'integer')
    // Per instance.
    .addColumn('max_cpus', sql`numeric(4,1)`)
    .addColumn('max_memory_mb', 'integer')
    .addColumn('max_workers', 'integer')
    // Database + filestore of the whole organization, as measured (instance_usage).
    .addColumn('storage_mb', 'integer')
    .addColumn('backup_keep_daily', 'integer')
    .addColumn('backup_keep_weekly', 'integer')
    .addColumn('backup_keep_monthly', 'integer')
    // Verified offsite copies of the organization; 0 means no offsite copies at all.
    .addColumn('offsite_mb', 'integer')
    .addColumn('max_custom_domains', 'integer')
    .addColumn('staging_allowed', 'boolean', (c) => c.notNull().defaultTo(true))
    // 0 means no trial: the plan is sold paid only (billing).
    .addColumn('trial_days', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('archived_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'plans_limits_positive',
      sql`coalesce(max_production, 0) >= 0 AND coalesce(max_staging, 0) >= 0
      AND coalesce(max_development, 0) >= 0 AND coalesce(max_cpus, 0) >= 0 AND coalesce(max_memory_mb, 0) >= 0
      AND coalesce(max_workers, 0) >= 0 AND coalesce(storage_mb, 0) >= 0 AND coalesce(offsite_mb, 0) >= 0
      AND coalesce(max_custom_domains, 0) >= 0 AND trial_days >= 0`,
    )
    .execute();

  // Prices in integer minor units of their currency: never a float (billing reads them).
  await db.schema
    .createTable('plan_prices')
    .addColumn('plan_id', 'uuid', (c) => c.notNull().references('plans.id').onDelete('cascade'))
    .addColumn('currency', sql`char(3)`, (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull().check(sql`period IN ('month', 'year')`))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull().check(sql`amount_minor >= 0`))
    .addPrimaryKeyConstraint('plan_prices_pk', ['plan_id', 'currency', 'period'])
    .execute();

  // One per organization; an organization without one has no plan, no limits and no lifecycle.
  await db.schema
    .createTable('subscriptions')
    .addColumn('organization_id', 'uuid', (c) => c.primaryKey().references('organizations.id').onDelete('cascade'))
    .addColumn('plan_id', 'uuid', (c) => c.notNull().references('plans.id'))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status IN ('trialing', 'active', 'past_due', 'suspended', 'cancelled')`),
    )
    .addColumn('currency', sql`char(3)`)
    .addColumn('period', 'text', (c) => c.check(sql`period IN ('month', 'year')`))
    .addColumn('trial_started_at', 'timestamptz')
    .addColumn('trial_ends_at', 'timestamptz')
    .addColumn('activated_at', 'timestamptz')
    .addColumn('current_period_start', 'timestamptz')
    .addColumn('current_period_end', 'timestamptz')
    .addColumn('suspended_at', 'timestamptz')
    .addColumn('suspended_kind', 'text', (c) => c.check(sql`suspended_kind IN ('trial_ended', 'admin', 'past_due')`))
    // The platform admin's words: shown to the organization's members, never on the public page.
    .addColumn('suspended_reason', 'text')
    // The status a resume goes back to, and the instances that were running when it was suspended.
    .addColumn('suspended_from', 'text')
    .addColumn('suspended_running', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('grace_ends_at', 'timestamptz')
    .addColumn('deletion_started_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    // The storage warning already sent (0, 80 or 100): each is mailed once until usage falls back.
    .addColumn('storage_alert', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('subscriptions_plan').on('subscriptions').column('plan_id').execute();

  // Measured by Marina (pg_database_size, du of the filestore), never read from the tenant's tables.
  await db.schema
    .createTable('instance_usage')
    .addColumn('instance_id', 'uuid', (c) => c.primaryKey().references('instances.id').onDelete('cascade'))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('database_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('filestore_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('measured_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('instance_usage_organization').on('instance_usage').column('organization_id').execute();
}

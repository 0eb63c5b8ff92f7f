import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A nullable column that may be left out of an insert. */
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;

/** A plan the platform sells (0020). A null limit is no limit. */
export interface PlansTable {
  id: Generated<string>;
  slug: string;
  name: string;
  description: Defaulted<string>;
  public: Defaulted<boolean>;
  sort: Defaulted<number>;
  max_production: Optional<number>;
  max_staging: Optional<number>;
  max_development: Optional<number>;
  /** numeric(4,1): pg returns a string; write a number or a string. */
  max_cpus: ColumnType<string | null, number | string | null | undefined, number | string | null>;
  max_memory_mb: Optional<number>;
  max_workers: Optional<number>;
  storage_mb: Optional<number>;
  backup_keep_daily: Optional<number>;
  backup_keep_weekly: Optional<number>;
  backup_keep_monthly: Optional<number>;
  offsite_mb: Optional<number>;
  max_custom_domains: Optional<number>;
  staging_allowed: Defaulted<boolean>;
  trial_days: Defaulted<number>;
  /** Seconds between uptime checks of its production instances; null: MARINA_UPTIME_INTERVAL_S (0028). */
  uptime_interval_s: Optional<number>;
  archived_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type PricePeriod = 'month' | 'year';

/** A plan's price in integer minor units of its currency (0020). */
export interface PlanPricesTable {
  plan_id: string;
  currency: string;
  period: PricePeriod;
  /** bigint: pg returns a string. */
  amount_minor: ColumnType<string, number | string | bigint, number | string | bigint>;
}

export type SubscriptionStatus = 'trialing' | 'active' | 'past_due' | 'suspended' | 'cancelled';
export type SuspendedKind = 'trial_ended' | 'admin' | 'past_due';

/** An organization's subscription (0020); one per organization, none means unlimited. */
export interface SubscriptionsTable {
  organization_id: string;
  plan_id: string;
  status: SubscriptionStatus;
  currency: Optional<string>;
  period: Optional<PricePeriod>;
  trial_started_at: NullableTimestamp;
  trial_ends_at: NullableTimestamp;
  activated_at: NullableTimestamp;
  current_period_start: NullableTimestamp;
  current_period_end: NullableTimestamp;
  suspended_at: NullableTimestamp;
  suspended_kind: Optional<SuspendedKind>;
  suspended_reason: Optional<string>;
  suspended_from: Optional<SubscriptionStatus>;
  suspended_running: ColumnType<string[], string | undefined, string>;
  grace_ends_at: NullableTimestamp;
  deletion_started_at: NullableTimestamp;
  cancelled_at: NullableTimestamp;
  storage_alert: Defaulted<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** An instance's measured storage (0020). bigint columns come back as strings. */
export interface InstanceUsageTable {
  instance_id: string;
  organization_id: string;
  database_bytes: ColumnType<string, number | string | bigint | undefined, number | string | bigint>;
  filestore_bytes: ColumnType<string, number | string | bigint | undefined, number | string | bigint>;
  measured_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Odoo sessions used within the last hour (0028); null until counted. */
  odoo_sessions: ColumnType<number | null, number | null | undefined, number | null>;
}

/** One step of a subscription's lifecycle, done once (0021): the key is unique per organization. */
export interface SubscriptionEventsTable {
  id: Generated<string>;
  organization_id: string;
  key: string;
  outcome: Defaulted<'done' | 'skipped'>;
  from_status: Optional<string>;
  to_status: Optional<string>;
  cause: string;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
  at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** The platform admin's version of a mail Marina sends (0022). */
export interface MailTemplatesTable {
  key: string;
  locale: string;
  subject: string;
  html: string;
  text: string;
  updated_by: Optional<string>;
  updated_at: UpdatedAt;
}

export type OutboxStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'unknown';

/** Mail written with what caused it and sent after (0022). */
export interface MailOutboxTable {
  id: Generated<string>;
  key: string;
  to: string;
  locale: Defaulted<string>;
  vars: ColumnType<Record<string, unknown>, string | undefined, string>;
  dedupe_key: string;
  organization_id: Optional<string>;
  status: Defaulted<OutboxStatus>;
  attempts: Defaulted<number>;
  last_error: Optional<string>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  created_at: CreatedAt;
  sent_at: NullableTimestamp;
}

export interface SelfServiceTables {
  plans: PlansTable;
  plan_prices: PlanPricesTable;
  subscriptions: SubscriptionsTable;
  instance_usage: InstanceUsageTable;
  subscription_events: SubscriptionEventsTable;
  mail_templates: MailTemplatesTable;
  mail_outbox: MailOutboxTable;
}

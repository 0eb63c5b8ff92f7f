import { type Kysely, sql } from 'kysely';

/**
 * Marina's own time series (issue #15): a row per instance per minute for 48 hours, a row per
 * instance per hour for 90 days, and each organization's storage per hour for 90 days
 * (src/modules/metrics/series.ts writes, rolls up and prunes them).
 *
 * Compact on purpose (500 instances for a year must fit in a few hundred MB): an instance is a
 * 4-byte series number, not its 16-byte uuid, in every row and index entry; time is whole minutes
 * or hours since the Unix epoch in an int4 (`to_timestamp(minute * 60)` reads it); CPU is
 * milli-cores, memory KiB, response times ms in a smallint. Sizes stay bigint bytes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // No foreign key to instances: a round written while an instance is deleted must not fail the
  // whole round; the ticker removes the series of instances that are gone (its rows cascade).
  await sql`
    create table metric_series (
      id int4 generated always as identity primary key,
      instance_id uuid not null unique,
      organization_id uuid not null
    )`.execute(db);
  // Columns ordered widest first, so no alignment padding inside a row.
  await sql`
    create table metric_minutes (
      series int4 not null references metric_series (id) on delete cascade,
      minute int4 not null,
      database_bytes int8,
      filestore_bytes int8,
      cpu_millicores int4,
      memory_kib int4,
      memory_limit_kib int4,
      requests int4,
      p50_ms int2,
      p95_ms int2,
      primary key (series, minute)
    )`.execute(db);
  // The rollup and the pruning read by time across every series; the charts by series.
  await sql`create index metric_minutes_minute on metric_minutes (minute)`.execute(db);
  await sql`
    create table metric_hours (
      series int4 not null references metric_series (id) on delete cascade,
      hour int4 not null,
      database_bytes int8,
      filestore_bytes int8,
      cpu_avg int4,
      cpu_max int4,
      memory_avg_kib int4,
      memory_max_kib int4,
      memory_limit_kib int4,
      requests int4,
      p50_ms int2,
      p95_ms int2,
      samples int2 not null,
      primary key (series, hour)
    )`.execute(db);
  await sql`create index metric_hours_hour on metric_hours (hour)`.execute(db);
  // Kept apart from the instances' rows: a deleted instance still counts in the hours it existed,
  // and the quota is the one of that hour (a plan change is a step, not a rewritten past).
  await sql`
    create table organization_storage_hours (
      organization_id uuid not null references organizations (id) on delete cascade,
      hour int4 not null,
      storage_bytes int8 not null,
      quota_mb int4,
      primary key (organization_id, hour)
    )`.execute(db);
}

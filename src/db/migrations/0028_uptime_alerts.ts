import { type Kysely, sql } from 'kysely';

/**
 * Uptime checks, incidents and alerts (issue #15). Raw checks are kept for a few days (pruned); the
 * day rollups answer availability per day and month for as long as the instance exists.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // A plan may check its production instances less often than MARINA_UPTIME_INTERVAL_S (null: that).
  await sql`alter table plans add column uptime_interval_s integer check (uptime_interval_s between 10 and 3600)`.execute(
    db,
  );
  // Odoo sessions used within the last hour, counted from the session files (plans/filestore-size.ts).
  await sql`alter table instance_usage add column odoo_sessions integer`.execute(db);
  await sql`
    create table uptime_checks (
      instance_id uuid not null references instances(id) on delete cascade,
      at timestamptz not null,
      ok boolean not null,
      -- HTTP status of each path; 0 = no answer (refused, timeout); null = not checked (no edge)
      direct smallint,
      proxy smallint,
      ms integer,
      primary key (instance_id, at)
    )
  `.execute(db);
  // Pruning goes by time across instances.
  await sql`create index uptime_checks_at on uptime_checks (at)`.execute(db);
  await sql`
    create table uptime_days (
      instance_id uuid not null references instances(id) on delete cascade,
      day date not null,
      checks integer not null default 0,
      failures integer not null default 0,
      down_seconds integer not null default 0,
      primary key (instance_id, day)
    )
  `.execute(db);
  // The counters live here, not in memory: a restart (or a second Marina) continues them.
  await sql`
    create table uptime_state (
      instance_id uuid primary key references instances(id) on delete cascade,
      fails integer not null default 0,
      goods integer not null default 0,
      last_at timestamptz
    )
  `.execute(db);
  await sql`
    create table incidents (
      id uuid primary key default gen_random_uuid(),
      -- Null for what is not one instance's (a host's disk, an organization's storage).
      instance_id uuid references instances(id) on delete cascade,
      -- Null for the platform's own (a host's disk): its admins are told.
      organization_id uuid references organizations(id) on delete cascade,
      kind text not null check (kind in ('instance_down', 'memory_high', 'host_disk', 'storage_quota',
        'backup_stale', 'offsite_failed', 'certificate', 'job_failing')),
      -- What fires, within its kind: an instance, a domain, a host, an organization, an instance's job kind.
      subject text not null,
      opened_at timestamptz not null,
      resolved_at timestamptz,
      details jsonb not null default '{}',
      firing_sent boolean not null default false,
      last_notified_at timestamptz,
      flaps integer not null default 0
    )
  `.execute(db);
  // At most one open incident per kind and subject, whoever (which Marina) opens it.
  await sql`create unique index incidents_open on incidents (kind, subject) where resolved_at is null`.execute(db);
  await sql`create index incidents_subject on incidents (kind, subject, opened_at desc)`.execute(db);
  await sql`create index incidents_instance on incidents (instance_id, opened_at desc)`.execute(db);
  await sql`create index incidents_organization on incidents (organization_id, opened_at desc)`.execute(db);
  await sql`
    create table alert_channels (
      id uuid primary key default gen_random_uuid(),
      organization_id uuid not null references organizations(id) on delete cascade,
      kind text not null check (kind in ('email', 'webhook', 'slack', 'mattermost', 'discord', 'teams')),
      name text not null,
      target text not null,
      secret text,
      enabled boolean not null default true,
      created_at timestamptz not null default now()
    )
  `.execute(db);
  await sql`create index alert_channels_organization on alert_channels (organization_id)`.execute(db);
  // One row per organization and rule it changed; a rule without a row has its defaults (on).
  await sql`
    create table alert_rules (
      organization_id uuid not null references organizations(id) on delete cascade,
      rule text not null,
      enabled boolean not null default true,
      settings jsonb not null default '{}',
      primary key (organization_id, rule)
    )
  `.execute(db);
  await sql`
    create table alert_deliveries (
      id uuid primary key default gen_random_uuid(),
      channel_id uuid not null references alert_channels(id) on delete cascade,
      incident_id uuid references incidents(id) on delete cascade,
      event text not null,
      dedupe_key text not null unique,
      payload jsonb not null,
      status text not null default 'queued' check (status in ('queued', 'sending', 'sent', 'failed', 'unknown')),
      attempts integer not null default 0,
      last_error text,
      next_attempt_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      sent_at timestamptz
    )
  `.execute(db);
  await sql`create index alert_deliveries_due on alert_deliveries (next_attempt_at) where status = 'queued'`.execute(
    db,
  );
}

export async function down(): Promise<void> {
  throw new Error("Marina migrations are forward-only; restore a backup of Marina's database to go back.");
}

import type { ColumnType, Generated } from 'kysely';

/** bigint: pg returns a string; write a number. */
type Int8 = ColumnType<string | null, number | null | undefined, number | null>;
type Int = ColumnType<number | null, number | null | undefined, number | null>;

/** One instance's number in the series tables (0026): 4 bytes in every row instead of its uuid. */
export interface MetricSeriesTable {
  id: Generated<number>;
  instance_id: string;
  organization_id: string;
}

/** One instance's minute (0026): `minute` is whole minutes since the Unix epoch. */
export interface MetricMinutesTable {
  series: number;
  minute: number;
  database_bytes: Int8;
  filestore_bytes: Int8;
  cpu_millicores: Int;
  memory_kib: Int;
  memory_limit_kib: Int;
  requests: Int;
  p50_ms: Int;
  p95_ms: Int;
}

/** One instance's hour (0026), rolled up from its minutes: `hour` is whole hours since the epoch. */
export interface MetricHoursTable {
  series: number;
  hour: number;
  database_bytes: Int8;
  filestore_bytes: Int8;
  cpu_avg: Int;
  cpu_max: Int;
  memory_avg_kib: Int;
  memory_max_kib: Int;
  memory_limit_kib: Int;
  requests: Int;
  p50_ms: Int;
  p95_ms: Int;
  samples: number;
}

/** An organization's storage (databases + filestores) in one hour, and its quota then (0026). */
export interface OrganizationStorageHoursTable {
  organization_id: string;
  hour: number;
  storage_bytes: ColumnType<string, number, number>;
  quota_mb: Int;
}

export interface MetricsTables {
  metric_series: MetricSeriesTable;
  metric_minutes: MetricMinutesTable;
  metric_hours: MetricHoursTable;
  organization_storage_hours: OrganizationStorageHoursTable;
  uptime_checks: UptimeChecksTable;
  uptime_days: UptimeDaysTable;
  uptime_state: UptimeStateTable;
  incidents: IncidentsTable;
  alert_channels: AlertChannelsTable;
  alert_rules: AlertRulesTable;
  alert_deliveries: AlertDeliveriesTable;
}

/** One uptime check (0028): the status each path answered (0 no answer, null not checked). */
export interface UptimeChecksTable {
  instance_id: string;
  at: ColumnType<Date, Date, Date>;
  ok: boolean;
  direct: number | null;
  proxy: number | null;
  ms: number | null;
}

/** One instance's day of checks (0028), UTC. */
export interface UptimeDaysTable {
  instance_id: string;
  day: ColumnType<string, string, string>;
  checks: ColumnType<number, number | undefined, number>;
  failures: ColumnType<number, number | undefined, number>;
  down_seconds: ColumnType<number, number | undefined, number>;
}

export interface UptimeStateTable {
  instance_id: string;
  fails: ColumnType<number, number | undefined, number>;
  goods: ColumnType<number, number | undefined, number>;
  last_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export type IncidentKind =
  | 'instance_down'
  | 'memory_high'
  | 'host_disk'
  | 'storage_quota'
  | 'backup_stale'
  | 'offsite_failed'
  | 'certificate'
  | 'job_failing'
  | 'node_down';

export interface IncidentsTable {
  id: Generated<string>;
  instance_id: string | null;
  organization_id: string | null;
  kind: IncidentKind;
  subject: string;
  opened_at: ColumnType<Date, Date, Date>;
  resolved_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
  firing_sent: ColumnType<boolean, boolean | undefined, boolean>;
  last_notified_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  flaps: ColumnType<number, number | undefined, number>;
}

export type AlertChannelKind = 'email' | 'webhook' | 'slack' | 'mattermost' | 'discord' | 'teams';

export interface AlertChannelsTable {
  id: Generated<string>;
  organization_id: string;
  kind: AlertChannelKind;
  name: string;
  target: string;
  /** Sealed (SecretBox): the generic webhook's HMAC key. */
  secret: string | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface AlertRulesTable {
  organization_id: string;
  rule: string;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  settings: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'unknown';

export interface AlertDeliveriesTable {
  id: Generated<string>;
  channel_id: string;
  incident_id: string | null;
  event: string;
  dedupe_key: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  created_at: ColumnType<Date, Date | undefined, never>;
  sent_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

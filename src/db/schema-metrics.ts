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
}

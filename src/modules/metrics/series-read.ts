import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { requireAccess } from '../../platform/access.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { isUuid } from '../../platform/validation.js';
import type { InstanceService } from '../instances/service.js';
import { HOUR_MS, MINUTE_MS } from './series-rows.js';
import type { InstanceSeries, OrganizationStorageSeries, SeriesRange } from './series-schemas.js';

export type Range = Static<typeof SeriesRange>;
type InstanceSeriesView = Static<typeof InstanceSeries>;
type StorageSeriesView = Static<typeof OrganizationStorageSeries>;

/** The hours each range covers; 24 h is read from minute rows, the others from hourly rows. */
const RANGE_HOURS: Record<Range, number> = { '24h': 24, '7d': 7 * 24, '30d': 30 * 24 };
const KIB = 1024;
const MB = 1024 * 1024;

const num = (value: string | number | null): number | null => (value === null ? null : Number(value));
const kib = (value: number | null): number | null => (value === null ? null : value * KIB);

export interface SeriesReaderDeps {
  db: Db;
  clock: Clock;
  instances: Pick<InstanceService, 'get'>;
}

/**
 * The charts' data: aligned arrays (one timestamp, in Unix seconds, per value), only the minutes or
 * hours that have a row; the client breaks its lines where a step is missing.
 */
export class SeriesReader {
  constructor(private readonly deps: SeriesReaderDeps) {}

  /** Whoever may see the instance (instance.view); outsiders get 404. */
  async instance(actor: Actor, instanceId: string, range: Range): Promise<InstanceSeriesView> {
    const instance = await this.deps.instances.get(actor, instanceId);
    const { db } = this.deps;
    const nowMs = this.deps.clock.now().getTime();
    const fromMs = nowMs - RANGE_HOURS[range] * HOUR_MS;
    const series = await db
      .selectFrom('metric_series')
      .select('id')
      .where('instance_id', '=', instance.id)
      .executeTakeFirst();
    const empty: InstanceSeriesView = {
      range,
      step: range === '24h' ? 60 : 3600,
      from: Math.floor(fromMs / 1000),
      to: Math.floor(nowMs / 1000),
      t: [],
      cpu: [],
      cpuMax: range === '24h' ? null : [],
      memory: [],
      memoryMax: range === '24h' ? null : [],
      memoryLimit: [],
      requests: [],
      p50: [],
      p95: [],
      database: [],
      filestore: [],
    };
    if (!series) return empty;
    if (range === '24h') {
      const rows = await db
        .selectFrom('metric_minutes')
        .selectAll()
        .where('series', '=', series.id)
        .where('minute', '>', Math.floor(fromMs / MINUTE_MS))
        .orderBy('minute')
        .execute();
      return {
        ...empty,
        t: rows.map((r) => r.minute * 60),
        cpu: rows.map((r) => r.cpu_millicores),
        memory: rows.map((r) => kib(r.memory_kib)),
        memoryLimit: rows.map((r) => kib(r.memory_limit_kib)),
        requests: rows.map((r) => r.requests),
        p50: rows.map((r) => r.p50_ms),
        p95: rows.map((r) => r.p95_ms),
        database: rows.map((r) => num(r.database_bytes)),
        filestore: rows.map((r) => num(r.filestore_bytes)),
      };
    }
    const rows = await db
      .selectFrom('metric_hours')
      .selectAll()
      .where('series', '=', series.id)
      .where('hour', '>=', Math.floor(fromMs / HOUR_MS))
      .orderBy('hour')
      .execute();
    return {
      ...empty,
      t: rows.map((r) => r.hour * 3600),
      cpu: rows.map((r) => r.cpu_avg),
      cpuMax: rows.map((r) => r.cpu_max),
      memory: rows.map((r) => kib(r.memory_avg_kib)),
      memoryMax: rows.map((r) => kib(r.memory_max_kib)),
      memoryLimit: rows.map((r) => kib(r.memory_limit_kib)),
      // Per minute, like the 24 h view: the hour's requests over the minutes that were sampled.
      requests: rows.map((r) => (r.requests === null ? null : Math.round((r.requests / r.samples) * 10) / 10)),
      p50: rows.map((r) => r.p50_ms),
      p95: rows.map((r) => r.p95_ms),
      database: rows.map((r) => num(r.database_bytes)),
      filestore: rows.map((r) => num(r.filestore_bytes)),
    };
  }

  /** Any member of the organization, like its usage; outsiders get 404. */
  async organizationStorage(actor: Actor, organizationId: string, range: Range): Promise<StorageSeriesView> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requireAccess(this.deps.db, actor, organizationId, 'viewer');
    const nowMs = this.deps.clock.now().getTime();
    const fromMs = nowMs - RANGE_HOURS[range] * HOUR_MS;
    const rows = await this.deps.db
      .selectFrom('organization_storage_hours')
      .select(['hour', 'storage_bytes', 'quota_mb'])
      .where('organization_id', '=', organizationId)
      .where('hour', '>=', Math.floor(fromMs / HOUR_MS))
      .orderBy('hour')
      .execute();
    return {
      range,
      step: 3600,
      from: Math.floor(fromMs / 1000),
      to: Math.floor(nowMs / 1000),
      t: rows.map((r) => r.hour * 3600),
      storage: rows.map((r) => Number(r.storage_bytes)),
      quota: rows.map((r) => (r.quota_mb === null ? null : r.quota_mb * MB)),
    };
  }
}

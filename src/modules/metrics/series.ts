import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { InstanceSample, SampleSink } from './sample.js';
import { rollupHours } from './series-rollup.js';
import { type CpuCounters, columns, HOUR_MS, MINUTE_MS, minuteRows } from './series-rows.js';

/** How long each kind of row is kept. */
export const MINUTES_KEPT = 48 * 60;
export const HOURS_KEPT = 90 * 24;
/** An hour is rolled up this long after it ended: a round sampled at :59 is written a bit later. */
export const SETTLE_MS = 5 * MINUTE_MS;
/** A CPU counter not seen for this long is forgotten (the instance is gone or was not sampled). */
const COUNTER_TTL_MS = 10 * MINUTE_MS;

export interface SeriesStoreDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** How often the rollup and the pruning run (default every 5 minutes). */
  tickMs?: number;
}

/** What one tick did, for the logs and the tests. */
export interface SeriesTickReport {
  /** The hours rolled up, [from, to) in hours since the epoch; null when none was due. */
  rolled: { from: number; to: number } | null;
  prunedMinutes: number;
  prunedHours: number;
  removedSeries: number;
}

/**
 * Marina's own time series (issue #15), as a sink of the sampler's rounds: a row per instance per
 * minute, rolled up per hour, pruned after 48 hours and 90 days. The charts read them
 * (series-read.ts); nothing here needs Prometheus.
 */
export class SeriesStore implements SampleSink {
  private readonly counters: CpuCounters = new Map();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> | undefined;

  constructor(private readonly deps: SeriesStoreDeps) {}

  /**
   * Writes a round in one statement: the series of instances seen for the first time (their
   * organization read from the instance row), then their minute rows. An instance deleted meanwhile
   * gets no series (and no rows); a minute written twice keeps the later figures and adds the requests.
   */
  async record(samples: readonly InstanceSample[]): Promise<void> {
    const rows = minuteRows(samples, this.counters);
    this.forgetStaleCounters();
    if (rows.length === 0) return;
    const c = columns(rows);
    await sql`
      with input as (
        select * from unnest(
          ${c.instanceId}::uuid[], ${c.organizationId}::uuid[], ${c.minute}::int4[],
          ${c.databaseBytes}::int8[], ${c.filestoreBytes}::int8[], ${c.cpuMillicores}::int4[],
          ${c.memoryKib}::int4[], ${c.memoryLimitKib}::int4[], ${c.requests}::int4[],
          ${c.p50Ms}::int2[], ${c.p95Ms}::int2[]
        ) as t(instance_id, organization_id, minute, database_bytes, filestore_bytes, cpu_millicores,
               memory_kib, memory_limit_kib, requests, p50_ms, p95_ms)
      ),
      created as (
        insert into metric_series (instance_id, organization_id)
        select instances.id, instances.organization_id from instances
        where instances.id in (select instance_id from input)
        on conflict (instance_id) do nothing
        returning id, instance_id
      ),
      known as (
        select id, instance_id from created
        union all
        select id, instance_id from metric_series where instance_id in (select instance_id from input)
      )
      insert into metric_minutes (series, minute, database_bytes, filestore_bytes, cpu_millicores,
                                  memory_kib, memory_limit_kib, requests, p50_ms, p95_ms)
      select known.id, input.minute, input.database_bytes, input.filestore_bytes, input.cpu_millicores,
             input.memory_kib, input.memory_limit_kib, input.requests, input.p50_ms, input.p95_ms
      from input join known on known.instance_id = input.instance_id
      on conflict (series, minute) do update set
        database_bytes = coalesce(excluded.database_bytes, metric_minutes.database_bytes),
        filestore_bytes = coalesce(excluded.filestore_bytes, metric_minutes.filestore_bytes),
        cpu_millicores = coalesce(excluded.cpu_millicores, metric_minutes.cpu_millicores),
        memory_kib = coalesce(excluded.memory_kib, metric_minutes.memory_kib),
        memory_limit_kib = coalesce(excluded.memory_limit_kib, metric_minutes.memory_limit_kib),
        requests = case when excluded.requests is null then metric_minutes.requests
                        else least(coalesce(metric_minutes.requests, 0)::int8 + excluded.requests, 2147483647) end,
        p50_ms = coalesce(excluded.p50_ms, metric_minutes.p50_ms),
        p95_ms = coalesce(excluded.p95_ms, metric_minutes.p95_ms)
    `.execute(this.deps.db);
  }

  /**
   * Rolls up every finished hour not rolled yet (so a tick after downtime catches up, as far back
   * as minute rows remain), then forgets deleted instances and prunes. Idempotent: the hours to
   * roll start after the newest hour rolled, and each is computed whole from its minutes (an
   * upsert), so running twice, or two Marina processes at once, never counts anything twice.
   */
  async tick(): Promise<SeriesTickReport> {
    const { db } = this.deps;
    const nowMs = this.deps.clock.now().getTime();
    const settled = Math.floor((nowMs - SETTLE_MS) / HOUR_MS);
    const bounds = await sql<{ last_hour: number | null; first_minute: number | null }>`
      select (select max(hour) from metric_hours) as last_hour,
             (select min(minute) from metric_minutes) as first_minute`.execute(db);
    const { last_hour: lastHour, first_minute: firstMinute } = bounds.rows[0] ?? {};
    const from =
      lastHour !== null && lastHour !== undefined
        ? lastHour + 1
        : firstMinute !== null && firstMinute !== undefined
          ? Math.floor(firstMinute / 60)
          : null;
    let rolled: SeriesTickReport['rolled'] = null;
    if (from !== null && from < settled) {
      await rollupHours(db, from, settled);
      rolled = { from, to: settled };
    }
    // After the rollup: a deleted instance still counts in its organization's finished hours.
    const removed = await db
      .deleteFrom('metric_series')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('instances').select('instances.id').whereRef('instances.id', '=', 'metric_series.instance_id'),
          ),
        ),
      )
      .executeTakeFirst();
    const nowMinute = Math.floor(nowMs / MINUTE_MS);
    const nowHour = Math.floor(nowMs / HOUR_MS);
    const minutes = await db
      .deleteFrom('metric_minutes')
      .where('minute', '<', nowMinute - MINUTES_KEPT)
      .executeTakeFirst();
    const hours = await db
      .deleteFrom('metric_hours')
      .where('hour', '<', nowHour - HOURS_KEPT)
      .executeTakeFirst();
    await db
      .deleteFrom('organization_storage_hours')
      .where('hour', '<', nowHour - HOURS_KEPT)
      .execute();
    return {
      rolled,
      prunedMinutes: Number(minutes.numDeletedRows),
      prunedHours: Number(hours.numDeletedRows),
      removedSeries: Number(removed.numDeletedRows),
    };
  }

  /** The rollup and pruning timer; the first tick runs at once (catching up). Ticks never overlap. */
  start(): void {
    if (this.timer) return;
    const run = () => {
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch((error: unknown) =>
          this.deps.logger.warn({ err: error }, 'metrics: the series rollup failed; next tick'),
        )
        .finally(() => {
          this.ticking = undefined;
        });
    };
    run();
    this.timer = setInterval(run, this.deps.tickMs ?? 5 * MINUTE_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  private forgetStaleCounters(): void {
    let newest = 0;
    for (const { atMs } of this.counters.values()) newest = Math.max(newest, atMs);
    for (const [id, { atMs }] of this.counters) if (newest - atMs > COUNTER_TTL_MS) this.counters.delete(id);
  }
}

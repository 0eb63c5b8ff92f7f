/**
 * Marina's own series (issue #15) at steady state: what a year of 500 instances leaves after pruning
 * (48 h of minute rows and 90 days of hourly rows per instance, 90 days of hourly storage per
 * organization) on the embedded PostgreSQL, its size on disk (table + indexes), and the time to
 * record one round of 200 and of 500 instances, to roll up and prune, and to read a chart.
 * `npx tsx bench/metrics-series.ts` runs it alone.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { connect, type Db, migrate } from '../src/db/database.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import type { InstanceSample } from '../src/modules/metrics/sample.js';
import { HOURS_KEPT, MINUTES_KEPT, SeriesStore } from '../src/modules/metrics/series.js';
import { SeriesReader } from '../src/modules/metrics/series-read.js';
import { HOUR_MS, MINUTE_MS } from '../src/modules/metrics/series-rows.js';
import type { Clock } from '../src/platform/clock.js';
import { insertInstances, sample } from '../test/helpers/series-seed.js';
import { ms, percentile, report, timed } from './report.js';

const logger = pino({ level: 'warn' });
const INSTANCES = 500;
const PER_ORGANIZATION = 10;
const MB = 1024 * 1024;

/** Minute and hourly rows for every series, as many as the retention keeps, with every column set. */
async function fillSteadyState(db: Db, nowMs: number): Promise<void> {
  const nowMinute = Math.floor(nowMs / MINUTE_MS);
  const nowHour = Math.floor(nowMs / HOUR_MS);
  // Registered in the order a live Marina writes them: minute after minute, every series each time.
  await sql`
    insert into metric_minutes (series, minute, database_bytes, filestore_bytes, cpu_millicores, memory_kib,
                                memory_limit_kib, requests, p50_ms, p95_ms)
    select s.id, m, 100000000 + s.id * 1000 + m % 1000, 50000000 + s.id, (m * 7 + s.id) % 1500,
           300000 + (m + s.id) % 200000, 1048576, (m + s.id) % 120, 40 + (m % 80), 200 + (m % 900)
    from generate_series(${nowMinute - MINUTES_KEPT + 1}::int4, ${nowMinute - 1}::int4) m
    cross join metric_series s order by m, s.id`.execute(db);
  await sql`
    insert into metric_hours (series, hour, database_bytes, filestore_bytes, cpu_avg, cpu_max, memory_avg_kib,
                              memory_max_kib, memory_limit_kib, requests, p50_ms, p95_ms, samples)
    select s.id, h, 100000000 + s.id * 1000 + h % 1000, 50000000 + s.id, (h * 7 + s.id) % 1500,
           (h * 7 + s.id) % 1500 + 300, 300000 + (h + s.id) % 200000, 600000, 1048576, (h + s.id) % 7000,
           40 + (h % 80), 200 + (h % 900), 60
    from generate_series(${nowHour - HOURS_KEPT + 1}::int4, ${nowHour - 1}::int4) h
    cross join metric_series s order by h, s.id`.execute(db);
  await sql`
    insert into organization_storage_hours (organization_id, hour, storage_bytes, quota_mb)
    select o.organization_id, h, 1500000000 + h % 1000, 20480
    from generate_series(${nowHour - HOURS_KEPT + 1}::int4, ${nowHour - 1}::int4) h
    cross join (select distinct organization_id from metric_series) o order by h`.execute(db);
}

export async function metricsSeriesBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'marina-bench-series-'));
  await chmod(dir, 0o711);
  const server = await startEmbeddedPostgres({
    dataDir: dir,
    port: 40000 + Math.floor(Math.random() * 10000),
    logger,
    takeOver: true,
  });
  const db = connect(server.url, 4);
  try {
    await migrate(db);
    const instances: { id: string; organizationId: string }[] = [];
    for (let i = 0; i < INSTANCES / PER_ORGANIZATION; i++) {
      const made = await insertInstances(db, PER_ORGANIZATION);
      instances.push(...made.instanceIds.map((id) => ({ id, organizationId: made.organizationId })));
    }
    let nowMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS + 30 * MINUTE_MS;
    const clock: Clock = { now: () => new Date(nowMs) };
    const store = new SeriesStore({ db, clock, logger });
    // One round creates the series (as the first round after the upgrade does).
    await store.record(instances.map((i) => sample(i.id, i.organizationId, new Date(nowMs - 40 * MINUTE_MS))));
    await db.deleteFrom('metric_minutes').execute();
    const [, fillMs] = await timed(() => fillSteadyState(db, nowMs));
    await sql`vacuum analyze`.execute(db);
    report(`series: steady state of ${INSTANCES} instances written`, ms(fillMs));
    let total = 0;
    for (const table of ['metric_minutes', 'metric_hours', 'organization_storage_hours', 'metric_series']) {
      const { rows } = await sql<{ total: string; heap: string; rows: string }>`
        select pg_total_relation_size(${table}::regclass) as total, pg_relation_size(${table}::regclass) as heap,
               (select count(*) from ${sql.table(table)}) as rows`.execute(db);
      const row = rows[0];
      if (!row) continue;
      total += Number(row.total);
      const perRow = Number(row.rows) > 0 ? ` (${(Number(row.total) / Number(row.rows)).toFixed(0)} B/row)` : '';
      report(
        `series: ${table}, ${Number(row.rows).toLocaleString('en')} rows`,
        `${(Number(row.total) / MB).toFixed(1)} MB with indexes, ${(Number(row.heap) / MB).toFixed(1)} MB table${perRow}`,
      );
    }
    report(`series: a year of ${INSTANCES} instances, after pruning`, `${(total / MB).toFixed(1)} MB`);

    // Rounds as the sampler gives them: one a minute, every instance, CPU counters growing.
    let cpu = 0;
    const round = (count: number): InstanceSample[] => {
      cpu += 30;
      return instances
        .slice(0, count)
        .map((i) => sample(i.id, i.organizationId, new Date(nowMs), { cpuSecondsTotal: cpu, requests: 17 }));
    };
    for (const count of [200, 500]) {
      const took: number[] = [];
      for (let r = 0; r < 12; r++) {
        nowMs += MINUTE_MS;
        const samples = round(count);
        took.push((await timed(() => store.record(samples)))[1]);
      }
      report(
        `series: record one round of ${count} instances`,
        `median ${ms(percentile(took.slice(2), 50))}, max ${ms(Math.max(...took.slice(2)))} (10 rounds)`,
      );
    }
    // The next tick: the hour just finished (500 instances × 60 minutes) and the pruning.
    nowMs = Math.ceil(nowMs / HOUR_MS) * HOUR_MS + 6 * MINUTE_MS;
    const [tick, tickMs] = await timed(() => store.tick());
    report(
      'series: tick (roll up one hour, prune)',
      `${ms(tickMs)} (${tick.prunedMinutes} minute rows and ${tick.prunedHours} hourly rows pruned)`,
    );
    const reader = new SeriesReader({
      db,
      clock,
      instances: {
        get: async (_actor, id) => ({ id }) as Awaited<ReturnType<SeriesReader['deps']['instances']['get']>>,
      },
    });
    for (const range of ['24h', '30d'] as const) {
      const took: number[] = [];
      for (let i = 0; i < 20; i++) {
        const target = instances[(i * 37) % instances.length]?.id ?? '';
        took.push((await timed(() => reader.instance({ kind: 'system', label: 'bench' }, target, range)))[1]);
      }
      report(
        `series: read one instance's ${range} chart`,
        `median ${ms(percentile(took, 50))}, p95 ${ms(percentile(took, 95))}`,
      );
    }
  } finally {
    await db.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await metricsSeriesBench();

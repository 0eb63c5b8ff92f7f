import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SeriesStore } from '../src/modules/metrics/series.js';
import { rollupHours } from '../src/modules/metrics/series-rollup.js';
import { HOUR_MS, MINUTE_MS } from '../src/modules/metrics/series-rows.js';
import { TestClock } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import { insertInstances, sample } from './helpers/series-seed.js';

/**
 * The stored series against a real PostgreSQL: what a round writes, the hourly rollup (exact,
 * idempotent, catching up), the organization's storage per hour and the pruning. Time is the test
 * clock's, counted from now: nothing depends on today's date.
 */
let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

const MiB = 1024 * 1024;
/** The start of an hour some hours back from now, so every minute of it is in the past. */
const hourAgo = (hours: number) => Math.floor(Date.now() / HOUR_MS) - hours;

async function setUp(instances = 2) {
  database = await createTestDatabase();
  const clock = new TestClock();
  const store = new SeriesStore({ db: database.db, clock, logger: pino({ level: 'silent' }) });
  const seeded = await insertInstances(database.db, instances);
  return { db: database.db, clock, store, ...seeded };
}

describe('the series store', () => {
  it('writes a round in minute rows: CPU from the counter, units of the columns, unknown instances left out', async () => {
    const { db, store, organizationId, instanceIds } = await setUp();
    const [a, b] = instanceIds as [string, string];
    const minute = Math.floor(Date.now() / MINUTE_MS) - 10;
    const at = (m: number) => new Date((minute + m) * MINUTE_MS + 2_000);
    await store.record([
      sample(a, organizationId, at(0), { cpuSecondsTotal: 100 }),
      sample(b, organizationId, at(0), { up: false, cpuSecondsTotal: null, memoryBytes: null, requests: null }),
      // Deleted meanwhile (or never known): no series, no row, and the round is not refused.
      sample('7a1f3c2e-0000-4000-8000-000000000001', organizationId, at(0)),
    ]);
    // 30 CPU-seconds in 60 s: half a core.
    await store.record([
      sample(a, organizationId, at(1), { cpuSecondsTotal: 130, requests: 42 }),
      sample(b, organizationId, at(1), { cpuSecondsTotal: 5 }),
    ]);
    // A second sample in the same minute adds its requests and its figures win; a p95 beyond a
    // smallint is stored at its top.
    await store.record([
      sample(a, organizationId, at(1.5), {
        cpuSecondsTotal: 145,
        requests: 8,
        memoryBytes: 512 * MiB,
        responseP95Ms: 40_000,
      }),
    ]);
    const rows = await db
      .selectFrom('metric_minutes')
      .innerJoin('metric_series', 'metric_series.id', 'metric_minutes.series')
      .select([
        'instance_id',
        'minute',
        'cpu_millicores',
        'memory_kib',
        'memory_limit_kib',
        'requests',
        'p50_ms',
        'p95_ms',
        'database_bytes',
        'filestore_bytes',
      ])
      .orderBy('instance_id')
      .orderBy('minute')
      .execute();
    const ofA = rows.filter((r) => r.instance_id === a);
    const ofB = rows.filter((r) => r.instance_id === b);
    expect(ofA).toEqual([
      {
        instance_id: a,
        minute,
        cpu_millicores: null,
        memory_kib: 300 * 1024,
        memory_limit_kib: 1024 * 1024,
        requests: 10,
        p50_ms: 80,
        p95_ms: 400,
        database_bytes: '40000000',
        filestore_bytes: '5000000',
      },
      {
        instance_id: a,
        minute: minute + 1,
        // The later sample's CPU: 15 s over 30 s.
        cpu_millicores: 500,
        memory_kib: 512 * 1024,
        memory_limit_kib: 1024 * 1024,
        requests: 50,
        p50_ms: 80,
        p95_ms: 32_767,
        database_bytes: '40000000',
        filestore_bytes: '5000000',
      },
    ]);
    expect(ofB.map((r) => [r.minute - minute, r.cpu_millicores, r.memory_kib, r.requests])).toEqual([
      [0, null, null, null],
      // No counter before (the container was down): no CPU figure rather than a made-up one.
      [1, null, 300 * 1024, 10],
    ]);
    expect(await db.selectFrom('metric_series').select('instance_id').execute()).toHaveLength(2);
  });

  it('rolls up a finished hour exactly, with the organization storage, and running it again changes nothing', async () => {
    const { db, clock, store, organizationId, instanceIds } = await setUp();
    const [a, b] = instanceIds as [string, string];
    const hour = hourAgo(3);
    const samples = [];
    let cpu = 0;
    // Minute i of the hour: CPU i milli-cores (i × 60 ms of CPU in the minute), memory 100 + i MiB,
    // i requests, p50 10 + i, p95 100 + i; sizes grow, the last minute's count.
    for (let i = 0; i <= 60; i++) {
      cpu += (i * 60) / 1000;
      const at = new Date(hour * HOUR_MS + i * MINUTE_MS);
      samples.push(
        sample(a, organizationId, at, {
          cpuSecondsTotal: cpu,
          memoryBytes: (100 + i) * MiB,
          requests: i,
          responseP50Ms: 10 + i,
          responseP95Ms: 100 + i,
          databaseBytes: 1_000_000 + i,
          filestoreBytes: 2_000_000 + i,
        }),
      );
      if (i < 30)
        samples.push(sample(b, organizationId, at, { databaseBytes: 7_000, filestoreBytes: 3_000, requests: null }));
    }
    await store.record(samples);
    clock.set(new Date((hour + 1) * HOUR_MS + 6 * MINUTE_MS));
    const first = await store.tick();
    expect(first.rolled).toEqual({ from: hour, to: hour + 1 });
    const read = () =>
      db
        .selectFrom('metric_hours')
        .innerJoin('metric_series', 'metric_series.id', 'metric_hours.series')
        .select([
          'instance_id',
          'hour',
          'cpu_avg',
          'cpu_max',
          'memory_avg_kib',
          'memory_max_kib',
          'memory_limit_kib',
          'requests',
          'p50_ms',
          'p95_ms',
          'database_bytes',
          'filestore_bytes',
          'samples',
        ])
        .orderBy('hour')
        .execute();
    const rowsA = (await read()).filter((r) => r.instance_id === a);
    // Minute 0 has no CPU (no counter before it); minutes 1..59: avg 30, max 59. Minute 60 is the next hour.
    expect(rowsA[0]).toEqual({
      instance_id: a,
      hour,
      cpu_avg: 30,
      cpu_max: 59,
      memory_avg_kib: Math.round(129.5 * 1024),
      memory_max_kib: 159 * 1024,
      memory_limit_kib: 1024 * 1024,
      requests: (59 * 60) / 2,
      p50_ms: Math.round(10 + 29.5),
      p95_ms: 159,
      database_bytes: '1000059',
      filestore_bytes: '2000059',
      samples: 60,
    });
    const storage = await db.selectFrom('organization_storage_hours').selectAll().execute();
    expect(storage).toEqual([
      {
        organization_id: organizationId,
        hour,
        storage_bytes: String(1_000_059 + 2_000_059 + 7_000 + 3_000),
        quota_mb: null,
      },
    ]);
    const before = await read();
    // Ticking again rolls nothing; rolling the same hour again by hand writes the same figures.
    expect((await store.tick()).rolled).toBeNull();
    await rollupHours(db, hour, hour + 1);
    await rollupHours(db, hour, hour + 1);
    expect(await read()).toEqual(before);
    expect(await db.selectFrom('organization_storage_hours').selectAll().execute()).toEqual(storage);
  });

  it('catches up on several hours in one tick, leaving the unfinished hour to later', async () => {
    const { db, clock, store, organizationId, instanceIds } = await setUp(1);
    const [a] = instanceIds as [string];
    const start = hourAgo(6);
    const samples = [];
    for (let m = 0; m < 6 * 60; m += 5) {
      samples.push(
        sample(a, organizationId, new Date(start * HOUR_MS + m * MINUTE_MS), { cpuSecondsTotal: m / 5, requests: 1 }),
      );
    }
    await store.record(samples);
    // Downtime: the first tick is 5 h 3 min later. The 6th hour is not settled yet (SETTLE_MS).
    clock.set(new Date((start + 5) * HOUR_MS + 3 * MINUTE_MS));
    expect((await store.tick()).rolled).toEqual({ from: start, to: start + 4 });
    clock.set(new Date((start + 6) * HOUR_MS + 10 * MINUTE_MS));
    expect((await store.tick()).rolled).toEqual({ from: start + 4, to: start + 6 });
    const hours = await db
      .selectFrom('metric_hours')
      .select(['hour', 'requests', 'samples', 'cpu_avg'])
      .orderBy('hour')
      .execute();
    expect(hours.map((h) => h.hour - start)).toEqual([0, 1, 2, 3, 4, 5]);
    // 12 samples an hour, one request each; CPU one second per 5 minutes: 1000/300 s ≈ 3 milli-cores.
    expect(hours.every((h) => h.samples === 12 && h.requests === 12)).toBe(true);
    expect(hours.slice(1).every((h) => h.cpu_avg === 3)).toBe(true);
  });

  it('prunes minute rows after 48 hours and hourly rows after 90 days, and forgets deleted instances', async () => {
    const { db, clock, store, organizationId, instanceIds } = await setUp(2);
    const [a, b] = instanceIds as [string, string];
    const hour = hourAgo(2);
    const minute = hour * 60;
    await store.record([
      sample(a, organizationId, new Date(minute * MINUTE_MS)),
      sample(b, organizationId, new Date(minute * MINUTE_MS)),
    ]);
    const count = async (table: 'metric_minutes' | 'metric_hours' | 'organization_storage_hours' | 'metric_series') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    clock.set(new Date((minute + 48 * 60) * MINUTE_MS));
    await store.tick();
    expect([
      await count('metric_minutes'),
      await count('metric_hours'),
      await count('organization_storage_hours'),
    ]).toEqual([2, 2, 1]);
    clock.set(new Date((minute + 48 * 60 + 1) * MINUTE_MS));
    expect((await store.tick()).prunedMinutes).toBe(2);
    expect(await count('metric_hours')).toBe(2);
    clock.set(new Date((hour + 90 * 24) * HOUR_MS + 59 * MINUTE_MS));
    expect((await store.tick()).prunedHours).toBe(0);
    clock.set(new Date((hour + 90 * 24 + 1) * HOUR_MS));
    expect((await store.tick()).prunedHours).toBe(2);
    expect(await count('organization_storage_hours')).toBe(0);

    // An instance that is gone: its series and rows go at the next tick, the other's stay.
    await store.record([sample(a, organizationId, clock.now()), sample(b, organizationId, clock.now())]);
    await db.deleteFrom('instances').where('id', '=', b).execute();
    expect((await store.tick()).removedSeries).toBe(1);
    expect(await count('metric_series')).toBe(1);
    expect(await count('metric_minutes')).toBe(1);
  });
});

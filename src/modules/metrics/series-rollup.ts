import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

/**
 * Computes hours [from, to) (hours since the epoch) from their minute rows and writes them over
 * whatever was there: averages and maxima of CPU and memory, the highest limit, the sum of
 * requests, the mean p50 and the worst p95, the last sizes, how many minutes were sampled. Then each
 * organization's storage in those hours (the sum of its instances' last sizes) with its quota now.
 */
export async function rollupHours(db: Db, from: number, to: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`
      insert into metric_hours (series, hour, database_bytes, filestore_bytes, cpu_avg, cpu_max,
                                memory_avg_kib, memory_max_kib, memory_limit_kib, requests, p50_ms,
                                p95_ms, samples)
      select series, minute / 60,
             (array_agg(database_bytes order by minute desc) filter (where database_bytes is not null))[1],
             (array_agg(filestore_bytes order by minute desc) filter (where filestore_bytes is not null))[1],
             round(avg(cpu_millicores))::int4, max(cpu_millicores),
             round(avg(memory_kib))::int4, max(memory_kib), max(memory_limit_kib),
             least(sum(requests), 2147483647)::int4, round(avg(p50_ms))::int2, max(p95_ms),
             count(*)::int2
      from metric_minutes
      where minute >= ${from * 60} and minute < ${to * 60}
      group by series, minute / 60
      on conflict (series, hour) do update set
        database_bytes = excluded.database_bytes, filestore_bytes = excluded.filestore_bytes,
        cpu_avg = excluded.cpu_avg, cpu_max = excluded.cpu_max,
        memory_avg_kib = excluded.memory_avg_kib, memory_max_kib = excluded.memory_max_kib,
        memory_limit_kib = excluded.memory_limit_kib, requests = excluded.requests,
        p50_ms = excluded.p50_ms, p95_ms = excluded.p95_ms, samples = excluded.samples
    `.execute(trx);
    await sql`
      insert into organization_storage_hours (organization_id, hour, storage_bytes, quota_mb)
      select s.organization_id, h.hour,
             sum(coalesce(h.database_bytes, 0) + coalesce(h.filestore_bytes, 0)),
             (select plans.storage_mb from subscriptions join plans on plans.id = subscriptions.plan_id
              where subscriptions.organization_id = s.organization_id)
      from metric_hours h
      join metric_series s on s.id = h.series
      join organizations o on o.id = s.organization_id
      where h.hour >= ${from} and h.hour < ${to}
      group by s.organization_id, h.hour
      on conflict (organization_id, hour) do update set
        storage_bytes = excluded.storage_bytes, quota_mb = excluded.quota_mb
    `.execute(trx);
  });
}

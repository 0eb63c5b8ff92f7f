import type { InstanceSample } from './sample.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
const INT4_MAX = 2_147_483_647;
const INT2_MAX = 32_767;

/** One minute row as record() writes it (units of the 0026 migration). */
export interface MinuteRow {
  instanceId: string;
  organizationId: string;
  minute: number;
  databaseBytes: number | null;
  filestoreBytes: number | null;
  cpuMillicores: number | null;
  memoryKib: number | null;
  memoryLimitKib: number | null;
  requests: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** A figure that does not fit its column is stored at the column's top, never wrapped or refused. */
const clamp = (value: number | null, max: number, scale = 1): number | null =>
  value === null || !Number.isFinite(value) ? null : Math.max(0, Math.min(max, Math.round(value / scale)));

/** The last CPU counter seen per instance: CPU use is the counter's growth over wall time. */
export type CpuCounters = Map<string, { seconds: number; atMs: number }>;

/**
 * Turns a round of samples into minute rows. CPU is the average since the instance's previous
 * sample (milli-cores); the first sample after Marina starts, or after the counter went back (the
 * container restarted), has none. Two samples of one instance in the same minute make one row:
 * the later figures, the requests of both.
 */
export function minuteRows(samples: readonly InstanceSample[], counters: CpuCounters): MinuteRow[] {
  const ordered = [...samples].sort((a, b) => a.at.getTime() - b.at.getTime());
  const rows = new Map<string, MinuteRow>();
  for (const sample of ordered) {
    const atMs = sample.at.getTime();
    const previous = counters.get(sample.instanceId);
    let cpu: number | null = null;
    if (sample.cpuSecondsTotal === null) counters.delete(sample.instanceId);
    else {
      if (previous && atMs > previous.atMs && sample.cpuSecondsTotal >= previous.seconds) {
        cpu = ((sample.cpuSecondsTotal - previous.seconds) / ((atMs - previous.atMs) / 1000)) * 1000;
      }
      counters.set(sample.instanceId, { seconds: sample.cpuSecondsTotal, atMs });
    }
    const minute = Math.floor(atMs / MINUTE_MS);
    const key = `${sample.instanceId}:${minute}`;
    const before = rows.get(key);
    const requests =
      sample.requests === null ? (before?.requests ?? null) : (before?.requests ?? 0) + Math.max(0, sample.requests);
    rows.set(key, {
      instanceId: sample.instanceId,
      organizationId: sample.organizationId,
      minute,
      databaseBytes: clamp(sample.databaseBytes, Number.MAX_SAFE_INTEGER),
      filestoreBytes: clamp(sample.filestoreBytes, Number.MAX_SAFE_INTEGER),
      cpuMillicores: clamp(cpu, INT4_MAX) ?? before?.cpuMillicores ?? null,
      memoryKib: clamp(sample.memoryBytes, INT4_MAX, 1024),
      memoryLimitKib: clamp(sample.memoryLimitBytes, INT4_MAX, 1024),
      requests: clamp(requests, INT4_MAX),
      // A p95 beyond 32.7 s is shown as 32.7 s: already "broken", and it keeps the column 2 bytes.
      p50Ms: clamp(sample.responseP50Ms, INT2_MAX),
      p95Ms: clamp(sample.responseP95Ms, INT2_MAX),
    });
  }
  return [...rows.values()];
}

/** The rows as one array per column, for a single `unnest` insert. */
export function columns(rows: readonly MinuteRow[]) {
  const pick = <K extends keyof MinuteRow>(key: K) => rows.map((row) => row[key]);
  return {
    instanceId: pick('instanceId'),
    organizationId: pick('organizationId'),
    minute: pick('minute'),
    databaseBytes: pick('databaseBytes'),
    filestoreBytes: pick('filestoreBytes'),
    cpuMillicores: pick('cpuMillicores'),
    memoryKib: pick('memoryKib'),
    memoryLimitKib: pick('memoryLimitKib'),
    requests: pick('requests'),
    p50Ms: pick('p50Ms'),
    p95Ms: pick('p95Ms'),
  };
}

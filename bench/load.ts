/** A closed-loop HTTP load: `clients` at once for `seconds`, each request after the previous one answered. */
import { performance } from 'node:perf_hooks';
import { ms, percentile } from './report.js';

export interface LoadResult {
  requests: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  bytes: number;
}

export async function load(
  url: string,
  headers: Record<string, string>,
  clients: number,
  seconds: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let bytes = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const began = performance.now();
        const response = await fetch(url, { headers });
        const body = await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
        latencies.push(performance.now() - began);
        bytes = body.byteLength;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return {
    requests: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    bytes,
  };
}

export const describeLoad = (r: LoadResult): string =>
  `p50 ${ms(r.p50)} / p95 ${ms(r.p95)} / p99 ${ms(r.p99)}, ${Math.round(r.perSecond)} req/s, ${Math.round(r.bytes / 1024)} KiB`;

import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* Marina's own charts: the series API, typed from the generated OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

export type InstanceSeries = Json<paths['/api/v1/instances/{id}/series']['get']['responses'][200]>;
export type StorageSeries = Json<paths['/api/v1/organizations/{id}/storage-series']['get']['responses'][200]>;
export type SeriesRange = InstanceSeries['range'];

export const ranges: { id: SeriesRange; label: string }[] = [
  { id: '24h', label: '24 h' },
  { id: '7d', label: '7 d' },
  { id: '30d', label: '30 d' },
];

/** New points come every minute (24 h) or hour: refetching more often would show nothing new. */
const REFRESH_MS = 60_000;

export const instanceSeriesQuery = (instanceId: string, range: SeriesRange) =>
  queryOptions({
    queryKey: ['instance-series', instanceId, range] as const,
    queryFn: () =>
      call(api.GET('/api/v1/instances/{id}/series', { params: { path: { id: instanceId }, query: { range } } })),
    refetchInterval: REFRESH_MS,
  });

export const storageSeriesQuery = (organizationId: string, range: SeriesRange) =>
  queryOptions({
    queryKey: ['organization-storage-series', organizationId, range] as const,
    queryFn: () =>
      call(
        api.GET('/api/v1/organizations/{id}/storage-series', {
          params: { path: { id: organizationId }, query: { range } },
        }),
      ),
    refetchInterval: REFRESH_MS,
  });

/**
 * The API sends only the minutes or hours that have a row; a null where steps are missing makes
 * uPlot break the line there instead of drawing across a gap.
 */
export function withGaps(
  t: readonly number[],
  step: number,
  series: readonly (readonly (number | null)[])[],
): [number[], ...(number | null)[][]] {
  const xs: number[] = [];
  const ys: (number | null)[][] = series.map(() => []);
  for (let i = 0; i < t.length; i++) {
    const at = t[i] as number;
    const previous = i > 0 ? (t[i - 1] as number) : undefined;
    // One missing step is bridged: a round sampled at :59.9 and the next at :01.1 skip a minute.
    if (previous !== undefined && at - previous > step * 2.5) {
      xs.push(previous + step);
      for (const y of ys) y.push(null);
    }
    xs.push(at);
    for (const [k, values] of series.entries()) ys[k]?.push(values[i] ?? null);
  }
  return [xs, ...ys];
}

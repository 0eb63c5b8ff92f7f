import { describe, expect, it } from 'vitest';
import { HttpTraffic } from './http-traffic.js';
import { bucketOf, bucketValue, LATENCY_BUCKETS, LatencyHistogram } from './latency-histogram.js';
import type { InstanceSample } from './sample.js';
import { MetricsSnapshot } from './snapshot.js';

/** The exact q-quantile of a list (nearest rank), as the histogram approximates it. */
const exact = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
};

/** A deterministic spread of latencies (no Math.random: a failure must repeat). */
function latencies(count: number, seed = 7): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    // Log-uniform from 1 ms to 10 s: the shape of real request latencies, roughly.
    out.push(10 ** ((x / 2 ** 31) * 4));
  }
  return out;
}

describe('the latency histogram', () => {
  it('puts each value in a bucket whose middle is within 10 % of it', () => {
    for (const ms of [0.6, 1, 3.3, 17, 250, 999, 1000, 4321, 60_000, 120_000]) {
      const middle = bucketValue(bucketOf(ms));
      expect(Math.abs(middle - ms) / ms, String(ms)).toBeLessThan(0.1);
    }
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(10 ** 9)).toBe(LATENCY_BUCKETS - 1);
  });

  it('gives p50 and p95 within 10 % of the exact ones, and null when empty', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.quantile(0.5)).toBeNull();
    const values = latencies(5000);
    for (const v of values) histogram.observe(v);
    for (const q of [0.5, 0.95]) {
      const want = exact(values, q);
      expect(Math.abs((histogram.quantile(q) ?? 0) - want) / want, `q=${q}`).toBeLessThan(0.1);
    }
    expect(histogram.count).toBe(5000);
  });

  it('ignores what is not a duration', () => {
    const histogram = new LatencyHistogram();
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) histogram.observe(bad);
    expect(histogram.count).toBe(0);
  });
});

describe('HTTP traffic per instance', () => {
  it('counts only the instances measured, and takes each interval once', () => {
    const traffic = new HttpTraffic();
    expect(traffic.take()).toBeUndefined();
    traffic.measure(['a', 'b']);
    for (const ms of [10, 20, 30, 40, 1000]) expect(traffic.record('a', 200, ms / 1000)).toBe(true);
    expect(traffic.record('a', 404, 0.005)).toBe(true);
    expect(traffic.record('a', 502, 0.001)).toBe(true);
    // A websocket: a request, not a latency.
    expect(traffic.record('a', 101, null)).toBe(true);
    expect(traffic.record('unknown', 200, 0.01)).toBe(false);
    expect(traffic.record('a', 700, 0.01)).toBe(false);

    const first = traffic.take();
    expect(first?.get('a')).toMatchObject({
      requests: 8,
      totals: { byClass: { '1xx': 1, '2xx': 5, '3xx': 0, '4xx': 1, '5xx': 1 }, durationCount: 7 },
    });
    expect(first?.get('a')?.p50Ms).toBeGreaterThan(18);
    expect(first?.get('a')?.p50Ms).toBeLessThan(22);
    expect(first?.get('a')?.p95Ms).toBeGreaterThan(900);
    expect(first?.get('b')).toMatchObject({ requests: 0, p50Ms: null, p95Ms: null });
    expect(first?.has('unknown')).toBe(false);

    // The next interval starts empty; the totals go on.
    traffic.record('a', 200, 0.05);
    const second = traffic.take()?.get('a');
    expect(second?.requests).toBe(1);
    expect(second?.totals.byClass['2xx']).toBe(6);
  });

  it('forgets an instance no longer served, and keeps the totals of those still served', () => {
    const traffic = new HttpTraffic();
    traffic.measure(['a', 'b']);
    traffic.record('a', 200, 0.01);
    traffic.record('b', 200, 0.01);
    traffic.measure(['a']);
    const figures = traffic.take();
    expect([...(figures?.keys() ?? [])]).toEqual(['a']);
    expect(figures?.get('a')?.totals.byClass['2xx']).toBe(1);
  });

  it('stays the same size under a flood of requests and of invented instances', () => {
    const traffic = new HttpTraffic();
    traffic.measure(['a']);
    for (let i = 0; i < 200_000; i++) {
      traffic.record(`invented-${i}`, 200, 0.01);
      traffic.record('a', 200 + (i % 400), (i % 1000) / 100);
    }
    const figures = traffic.take();
    expect(figures?.size).toBe(1);
    expect(figures?.get('a')?.requests).toBe(200_000);
  });
});

describe('the request series on /metrics', () => {
  const sample = (over: Partial<InstanceSample>): InstanceSample => ({
    instanceId: 'i1',
    organizationId: 'o1',
    projectId: 'p1',
    stage: 'production',
    hostId: 'local',
    at: new Date(0),
    up: true,
    cpuSecondsTotal: null,
    memoryBytes: null,
    memoryLimitBytes: null,
    databaseBytes: null,
    filestoreBytes: null,
    connections: null,
    restarts: null,
    requests: null,
    responseP50Ms: null,
    responseP95Ms: null,
    ...over,
  });

  it('writes counts by status class and a summary, and nothing for an instance not measured', async () => {
    const snapshot = new MetricsSnapshot();
    await snapshot.record([
      sample({
        requests: 3,
        responseP50Ms: 20,
        responseP95Ms: 400,
        http: {
          byClass: { '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 0 },
          durationSecondsSum: 0.5,
          durationCount: 3,
        },
      }),
      sample({ instanceId: 'i2' }),
    ]);
    const text = snapshot.render(undefined, new Date(0)).toString();
    const labels = 'instance_id="i1",organization_id="o1",project_id="p1",stage="production",host_id="local"';
    expect(text).toContain('# TYPE marina_instance_http_requests_total counter');
    expect(text).toContain(`marina_instance_http_requests_total{${labels},status_class="2xx"} 2`);
    expect(text).toContain(`marina_instance_http_requests_total{${labels},status_class="5xx"} 0`);
    expect(text).toContain('# TYPE marina_instance_http_request_duration_seconds summary');
    expect(text).toContain(`marina_instance_http_request_duration_seconds{${labels},quantile="0.95"} 0.4`);
    expect(text).toContain(`marina_instance_http_request_duration_seconds_count{${labels}} 3`);
    expect(text).not.toContain(
      'instance_id="i2",organization_id="o1",project_id="p1",stage="production",host_id="local",status_class',
    );
  });
});

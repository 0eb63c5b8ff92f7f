import { LatencyHistogram } from './latency-histogram.js';

/**
 * HTTP requests the edge proxy served per instance (src/modules/edge/access-log.ts feeds it),
 * read by the sampler once per round. Only instances named by measure() have an entry, so a
 * sender inventing instances (or a flood) cannot grow it: memory is a few hundred bytes per
 * instance the proxy serves, whatever the traffic.
 */

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** Since Marina started (counters for Prometheus: they only grow, and reset with Marina). */
export interface HttpTotals {
  byClass: Record<StatusClass, number>;
  /** Latency observed, in seconds, and how many requests it covers (websockets and long polls are not latency). */
  durationSecondsSum: number;
  durationCount: number;
}

/** One instance's figures at a round: the interval since the previous round, and the totals. */
export interface TrafficFigures {
  /** Requests finished since the previous round. */
  requests: number;
  /** Latency quantiles of those requests, in milliseconds; null when none had a latency. */
  p50Ms: number | null;
  p95Ms: number | null;
  totals: HttpTotals;
}

/** What the edge's access log listener writes into. */
export interface TrafficRecorder {
  /** The instances measured from now on (those the proxy's loaded configuration logs); others are forgotten. */
  measure(instanceIds: Iterable<string>): void;
  /** One finished request; `seconds` null when its duration is not a latency. False: not an instance measured. */
  record(instanceId: string, status: number, seconds: number | null): boolean;
}

/** What the sampler reads: undefined while nothing is measured (the edge is off or not loaded yet). */
export interface TrafficSource {
  take(): ReadonlyMap<string, TrafficFigures> | undefined;
}

interface Entry {
  requests: number;
  latency: LatencyHistogram;
  totals: HttpTotals;
}

const newTotals = (): HttpTotals => ({
  byClass: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
  durationSecondsSum: 0,
  durationCount: 0,
});

export class HttpTraffic implements TrafficRecorder, TrafficSource {
  private entries = new Map<string, Entry>();
  private measuring = false;

  measure(instanceIds: Iterable<string>): void {
    const next = new Map<string, Entry>();
    for (const id of instanceIds)
      next.set(id, this.entries.get(id) ?? { requests: 0, latency: new LatencyHistogram(), totals: newTotals() });
    this.entries = next;
    this.measuring = true;
  }

  record(instanceId: string, status: number, seconds: number | null): boolean {
    const entry = this.entries.get(instanceId);
    if (!entry) return false;
    const statusClass = STATUS_CLASSES[Math.floor(status / 100) - 1];
    if (!statusClass || !Number.isInteger(status)) return false;
    entry.requests++;
    entry.totals.byClass[statusClass]++;
    if (seconds !== null && Number.isFinite(seconds) && seconds >= 0) {
      entry.latency.observe(seconds * 1000);
      entry.totals.durationSecondsSum += seconds;
      entry.totals.durationCount++;
    }
    return true;
  }

  /** Every measured instance's figures since the previous take, which starts a new interval. */
  take(): ReadonlyMap<string, TrafficFigures> | undefined {
    if (!this.measuring) return undefined;
    const figures = new Map<string, TrafficFigures>();
    for (const [id, entry] of this.entries) {
      figures.set(id, {
        requests: entry.requests,
        p50Ms: entry.latency.quantile(0.5),
        p95Ms: entry.latency.quantile(0.95),
        totals: { ...entry.totals, byClass: { ...entry.totals.byClass } },
      });
      entry.requests = 0;
      entry.latency.reset();
    }
    return figures;
  }
}

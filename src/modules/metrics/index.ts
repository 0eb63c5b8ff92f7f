import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { OperationBus } from '../../platform/jobs/operations.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import type { TokenService } from '../identity/tokens.js';
import { MetricsExporter } from './exporter.js';
import type { TrafficSource } from './http-traffic.js';
import { PlatformFigureSource } from './platform-figures.js';
import type { SampleSink } from './sample.js';
import { MetricsSampler } from './sampler.js';
import { MetricsScrapes } from './scrape.js';
import { MetricsSnapshot } from './snapshot.js';

export { metricsRoutes } from './routes.js';

export interface MetricsModuleDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: Pick<MarinaConfig, 'metrics' | 'dataDir'>;
  hosts: Pick<HostService, 'reachableRuntime'>;
  databaseServers: Pick<DatabaseServerService, 'get' | 'connection'>;
  tokens: Pick<TokenService, 'authenticate'>;
  bus: OperationBus;
  /** More places each round goes besides the /metrics snapshot (Marina's stored series). */
  sinks?: SampleSink[];
  /** Requests the edge proxy served per instance (absent: the edge is off, requests stay unknown). */
  traffic?: TrafficSource;
}

export interface MetricsModule {
  metrics: MetricsExporter;
  metricsScrapes: MetricsScrapes;
  metricsSampler: MetricsSampler;
  metricsSnapshot: MetricsSnapshot;
}

/** Monitoring: the sampler (started with the background work), the snapshot and GET /metrics. */
export function createMetricsModule(deps: MetricsModuleDeps): MetricsModule {
  const snapshot = new MetricsSnapshot();
  const sampler = new MetricsSampler({
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    hosts: deps.hosts,
    databaseServers: deps.databaseServers,
    sinks: [snapshot, ...(deps.sinks ?? [])],
    intervalMs: deps.config.metrics.intervalMs,
    traffic: deps.traffic,
  });
  const metrics = new MetricsExporter({
    snapshot,
    figures: new PlatformFigureSource({ db: deps.db, dataDir: deps.config.dataDir }),
    bus: deps.bus,
    lastRoundSeconds: () => sampler.lastRoundSeconds,
  });
  return {
    metrics,
    metricsScrapes: new MetricsScrapes({ db: deps.db, clock: deps.clock, tokens: deps.tokens, exporter: metrics }),
    metricsSampler: sampler,
    metricsSnapshot: snapshot,
  };
}

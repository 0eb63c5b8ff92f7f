import { Gauge, Histogram, Registry } from 'prom-client';
import type { OperationBus, OperationView } from '../../platform/jobs/operations.js';
import type { PlatformFigureSource } from './platform-figures.js';
import type { MetricsSnapshot } from './snapshot.js';
import { instanceFamilies } from './snapshot.js';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface ExporterDeps {
  snapshot: MetricsSnapshot;
  figures: PlatformFigureSource;
  bus: OperationBus;
  /** The last sampling round's duration in seconds (null before the first). */
  lastRoundSeconds: () => number | null;
}

/**
 * The platform series (prom-client: jobs, their durations, API latency, backups, certificates,
 * Marina's host) and the rendering of a scrape. Instance series come from the snapshot.
 */
export class MetricsExporter {
  readonly registry = new Registry();
  private readonly jobDuration: Histogram<'kind' | 'status'>;
  private readonly requestDuration: Histogram<'route' | 'method' | 'status_class'>;
  /** Operation ids already observed: the bus may announce a finished job again (a late listener). */
  private readonly observed = new Set<string>();

  constructor(private readonly deps: ExporterDeps) {
    const registers = [this.registry];
    this.jobDuration = new Histogram({
      name: 'marina_job_duration_seconds',
      help: 'How long finished jobs ran, from start to end, by kind and final status.',
      labelNames: ['kind', 'status'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'marina_http_request_duration_seconds',
      help: 'API request latency by route pattern (never the raw URL), method and status class.',
      labelNames: ['route', 'method', 'status_class'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const figures = () => deps.figures.read();
    new Gauge({
      name: 'marina_jobs',
      help: "Jobs in Marina's database by kind and state.",
      labelNames: ['kind', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const j of (await figures()).jobs) this.set({ kind: j.kind, state: j.state }, j.count);
      },
    });
    new Gauge({
      name: 'marina_job_queue_depth',
      help: 'Jobs queued and not yet started.',
      registers,
      async collect() {
        this.set((await figures()).queueDepth);
      },
    });
    new Gauge({
      name: 'marina_offsite_copy_failures',
      help: 'Backup copies to an offsite destination that failed (after their retries), by destination.',
      labelNames: ['destination_id'],
      registers,
      async collect() {
        this.reset();
        for (const f of (await figures()).offsiteFailures) this.set({ destination_id: f.destinationId }, f.count);
      },
    });
    new Gauge({
      name: 'marina_certificate_expiry_timestamp_seconds',
      help: "When a certificate's validity ends (not after), in Unix seconds: a custom domain's or the edge wildcard.",
      labelNames: ['kind', 'domain_id'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await figures()).certificates) this.set({ kind: c.kind, domain_id: c.id }, c.notAfter);
      },
    });
    const hostGauge = (
      name: string,
      help: string,
      pick: (h: Awaited<ReturnType<typeof figures>>['hosts'][number]) => number | null,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['host_id'],
        registers,
        async collect() {
          this.reset();
          for (const h of (await figures()).hosts) {
            const value = pick(h);
            if (value !== null) this.set({ host_id: h.hostId }, value);
          }
        },
      });
    hostGauge(
      'marina_host_filesystem_avail_bytes',
      "Free bytes (for unprivileged users) of the filesystem of Marina's data folder.",
      (h) => h.diskFree,
    );
    hostGauge(
      'marina_host_filesystem_size_bytes',
      "Size in bytes of the filesystem of Marina's data folder.",
      (h) => h.diskTotal,
    );
    hostGauge('marina_host_memory_bytes', "Memory of Marina's host, in bytes.", (h) => h.memoryTotal);
    hostGauge('marina_host_memory_free_bytes', "Free memory of Marina's host, in bytes.", (h) => h.memoryFree);
    new Gauge({
      name: 'marina_metrics_sample_duration_seconds',
      help: 'How long the last sampling round of every instance took.',
      registers,
      collect() {
        const last = deps.lastRoundSeconds();
        if (last !== null) this.set(last);
      },
    });
    deps.bus.on('op', (op: OperationView) => this.jobFinished(op));
  }

  private jobFinished(op: OperationView): void {
    if (!FINISHED.has(op.status) || !op.startedAt || !op.finishedAt || this.observed.has(op.id)) return;
    this.observed.add(op.id);
    // Keeps the memory bounded: only a recent repeat matters.
    if (this.observed.size > 10_000) this.observed.clear();
    const seconds = (Date.parse(op.finishedAt) - Date.parse(op.startedAt)) / 1000;
    if (seconds >= 0) this.jobDuration.observe({ kind: op.kind, status: op.status }, seconds);
  }

  /** An API answer: its route pattern (undefined when no route matched), method, status and time taken. */
  observeRequest(route: string | undefined, method: string, status: number, milliseconds: number): void {
    this.requestDuration.observe(
      {
        route: route ?? 'unmatched',
        method: METHODS.has(method) ? method : 'OTHER',
        status_class: `${Math.floor(status / 100)}xx`,
      },
      milliseconds / 1000,
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One scrape: the platform series (platform tokens only), then the instance series in reach. */
  async render(view: { platform: boolean; organizationId: string | undefined; now: Date }): Promise<Buffer> {
    const instances = this.deps.snapshot.render(view.organizationId, view.now);
    if (!view.platform) return instances;
    return Buffer.concat([Buffer.from(`${await this.registry.metrics()}\n`), instances]);
  }

  /** Every metric name a scrape may carry (histograms with their suffixes): what dashboards may use. */
  names(): string[] {
    const histogram = (name: string) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
    return [
      ...instanceFamilies.flatMap((f) =>
        f.type === 'summary' ? [f.name, `${f.name}_sum`, `${f.name}_count`] : [f.name],
      ),
      ...this.registry
        .getMetricsAsArray()
        .flatMap((m) => (String(m.type) === 'histogram' ? histogram(m.name) : [m.name])),
    ];
  }
}

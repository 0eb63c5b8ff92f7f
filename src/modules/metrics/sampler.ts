import type { Logger } from 'pino';
import { databaseFigures } from '../../adapters/postgres/admin.js';
import type { Db } from '../../db/database.js';
import type { Stage } from '../../db/schema.js';
import type { Clock } from '../../platform/clock.js';
import { RoundTicker } from '../../platform/round-ticker.js';
import type { Runtime, WorkloadSample } from '../../runtime/port.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import type { TrafficSource } from './http-traffic.js';
import { mapLimit, within } from './pool.js';
import type { InstanceSample, SampleSink } from './sample.js';

export interface SamplerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  hosts: Pick<HostService, 'reachableRuntime'>;
  databaseServers: Pick<DatabaseServerService, 'get' | 'connection'>;
  /** Where each round goes (the /metrics snapshot, Marina's stored series). */
  sinks: SampleSink[];
  /** MARINA_METRICS_INTERVAL_S. */
  intervalMs: number;
  /** Hosts (and database servers) sampled at once. */
  concurrency?: number;
  /** Containers of one host read at once (default: paced, `pacedConcurrency`). */
  perHostConcurrency?: number;
  /** Longest a host or a database server may take in a round; past it, its instances get nulls. */
  timeoutMs?: number;
  /** Requests the edge proxy served since the previous round (absent: the edge is off). */
  traffic?: TrafficSource;
}

interface Target {
  id: string;
  organization_id: string;
  project_id: string;
  stage: Stage;
  host_id: string;
  container_name: string;
  db_name: string;
  database_server_id: string | null;
  filestore_bytes: string | number | null;
  odoo_sessions: number | null;
}

const groupBy = <T>(items: readonly T[], key: (item: T) => string | null): Map<string, T[]> => {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === null) continue;
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
};

/**
 * How many of a host's containers to read at once. Docker's one-shot stats answer on its
 * collector's next tick (about a second, measured on 20.10), whoever asks, and each costs the
 * engine the same CPU however many are asked together. All at once, 500 containers kept dockerd and
 * containerd at about 1.4 of this machine's 2 cores for 5 s every round, and Marina's own pages
 * waited behind them (the first page of instances at 100 requests/s: p95 0.56 s, 25 ms without
 * sampling). So a round is spread over about half its deadline, a tick per batch: 500 containers
 * 34 at a time over 15 s; never fewer than 4 at once.
 */
export const pacedConcurrency = (containers: number, deadlineMs: number): number =>
  Math.min(128, Math.max(4, Math.ceil(containers / Math.max(1, Math.floor(deadlineMs / 2000)))));

/**
 * Reads every instance Marina knows once per interval: container figures host by host (one inspect
 * and one one-shot stats each), database sizes and connections with one query per database server
 * from its maintenance database, the filestore from the last storage measurement (plans/usage.ts),
 * the requests the edge proxy served (the edge's access log, edge/access-log.ts).
 * A slow or unreachable host or server leaves nulls for its instances; rounds never overlap.
 */
export class MetricsSampler {
  private readonly ticker: RoundTicker;
  /** How long the last round took, in seconds (a series of its own). */
  lastRoundSeconds: number | null = null;

  constructor(private readonly deps: SamplerDeps) {
    this.ticker = new RoundTicker(() => this.runOnce(), {
      intervalMs: deps.intervalMs,
      logger: deps.logger,
      failure: 'metrics: sampling failed',
    });
  }

  private get timeoutMs(): number {
    // A round must end well before the next one is due.
    return this.deps.timeoutMs ?? Math.max(1000, Math.min(30_000, this.deps.intervalMs / 2));
  }

  /** One round: every instance's sample, in no particular order. */
  async sample(): Promise<InstanceSample[]> {
    const { db, clock } = this.deps;
    const at = clock.now();
    // Taken first, even when the round finds no instance: each interval's requests are counted once.
    const traffic = this.deps.traffic?.take();
    const targets: Target[] = await db
      .selectFrom('instances as i')
      .leftJoin('instance_usage as u', 'u.instance_id', 'i.id')
      .select([
        'i.id',
        'i.organization_id',
        'i.project_id',
        'i.stage',
        'i.host_id',
        'i.container_name',
        'i.db_name',
        'i.database_server_id',
        'u.filestore_bytes',
        'u.odoo_sessions',
      ])
      .where('i.status', '!=', 'deleting')
      .execute();
    if (targets.length === 0) return [];
    const concurrency = this.deps.concurrency ?? 4;
    const [containers, databases, backups] = await Promise.all([
      mapLimit([...groupBy(targets, (t) => t.host_id)], concurrency, ([hostId, list]) => this.host(hostId, list)),
      mapLimit([...groupBy(targets, (t) => t.database_server_id)], concurrency, ([serverId, list]) =>
        this.server(serverId, list),
      ),
      this.lastBackups(),
    ]);
    const byContainer = new Map(containers.flat());
    const byDatabase = new Map(databases.flat());
    return targets.map((t): InstanceSample => {
      const c = byContainer.get(t.id);
      const d = byDatabase.get(t.id);
      const http = traffic?.get(t.id);
      return {
        instanceId: t.id,
        organizationId: t.organization_id,
        projectId: t.project_id,
        stage: t.stage,
        hostId: t.host_id,
        at,
        up: c?.running ?? false,
        cpuSecondsTotal: c?.cpuSecondsTotal ?? null,
        memoryBytes: c?.memoryBytes ?? null,
        memoryLimitBytes: c?.memoryLimitBytes ?? null,
        databaseBytes: d?.bytes ?? null,
        filestoreBytes: t.filestore_bytes === null ? null : Number(t.filestore_bytes),
        odooSessions: t.odoo_sessions,
        connections: d?.connections ?? null,
        restarts: c?.restarts ?? null,
        requests: http?.requests ?? null,
        responseP50Ms: http?.p50Ms ?? null,
        responseP95Ms: http?.p95Ms ?? null,
        http: http?.totals ?? null,
        lastBackupAt: backups.get(t.id) ?? null,
      };
    });
  }

  /** The host's containers, a few at a time, until its deadline; the rest stay unknown. */
  private async host(hostId: string, list: Target[]): Promise<[string, WorkloadSample][]> {
    const deadline = Date.now() + this.timeoutMs;
    const runtime: Runtime | undefined = await within(this.deps.hosts.reachableRuntime(hostId), this.timeoutMs);
    if (!runtime) return [];
    const read = await mapLimit(
      list,
      this.deps.perHostConcurrency ?? pacedConcurrency(list.length, this.timeoutMs),
      async (t) => {
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        const sample = await within(runtime.sample(t.container_name, AbortSignal.timeout(left)), left);
        return sample ? ([t.id, sample] as [string, WorkloadSample]) : undefined;
      },
    );
    return read.filter((r) => r !== undefined);
  }

  /** One query for every database of the server, from its maintenance database. */
  private async server(serverId: string, list: Target[]): Promise<[string, { bytes: number; connections: number }][]> {
    const { databaseServers } = this.deps;
    const figures = await within(
      (async () => {
        const connection = await databaseServers.connection(await databaseServers.get(serverId));
        return databaseFigures(
          connection,
          list.map((t) => t.db_name),
        );
      })(),
      this.timeoutMs,
    );
    if (!figures) return [];
    return list.flatMap((t) => {
      const f = figures.get(t.db_name);
      return f ? [[t.id, f] as [string, { bytes: number; connections: number }]] : [];
    });
  }

  private async lastBackups(): Promise<Map<string, Date>> {
    const rows = await this.deps.db
      .selectFrom('backups')
      .select(['instance_id', (eb) => eb.fn.max('completed_at').as('at')])
      .where('status', '=', 'completed')
      .where('instance_id', 'is not', null)
      .groupBy('instance_id')
      .execute();
    return new Map(rows.flatMap((r) => (r.instance_id && r.at ? [[r.instance_id, new Date(r.at)]] : [])));
  }

  /** One round handed to every sink; a failing sink does not keep the others from their round. */
  async runOnce(): Promise<void> {
    const started = performance.now();
    const samples = await this.sample();
    this.lastRoundSeconds = (performance.now() - started) / 1000;
    await Promise.all(
      this.deps.sinks.map((sink) =>
        sink.record(samples).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'metrics: a sink failed')),
      ),
    );
  }

  /** Samples at once, then every interval; a round still going when the next is due is not doubled. */
  start(): void {
    this.ticker.start();
  }

  async stop(): Promise<void> {
    await this.ticker.stop();
  }
}

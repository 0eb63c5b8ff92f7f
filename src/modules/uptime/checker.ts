import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Instance } from '../../db/schema.js';
import { parseOdooVersion, versionFacts } from '../../odoo/versions.js';
import type { Clock } from '../../platform/clock.js';
import { RoundTicker } from '../../platform/round-ticker.js';
import type { InstanceService } from '../instances/service.js';
import { mapLimit } from '../metrics/pool.js';
import { answered, type PathAnswer, probe } from './probe.js';
import type { CheckTarget, UptimeStore } from './store.js';

export interface UptimeCheckerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  store: UptimeStore;
  instances: Pick<InstanceService, 'internalUrl' | 'url'>;
  /** The edge's HTTPS port on this machine, when the edge is on: the proxy path is checked there. */
  edgeHttpsPort: number | null;
  intervalMs: number;
  concurrency?: number;
  /** Each path's deadline (default: a third of the interval, 1 to 5 s). */
  timeoutMs?: number;
}

// A user's stop is an instance.stop job; a container stopped behind Marina's back is seen as
// `stopped` too (Docker's events look alike), so the last lifecycle job tells the two apart.
const EXPECTED_DOWN = ['provisioning', 'deleting', 'failed', 'restoring', 'stopping'] as const;

type Row = Pick<
  Instance,
  | 'id'
  | 'name'
  | 'organization_id'
  | 'host_id'
  | 'container_name'
  | 'http_port'
  | 'hostname'
  | 'primary_hostname'
  | 'odoo_version'
> & {
  organization_name: string;
  project_name: string;
  /** The plan's interval between checks (null: MARINA_UPTIME_INTERVAL_S). */
  plan_interval_s: number | null;
  last_checked_at: Date | null;
};

/**
 * Checks every running production instance every MARINA_UPTIME_INTERVAL_S: directly (Odoo's health
 * URL where Marina reaches Odoo) and, with the edge on, through the proxy by the instance's name, so
 * a proxy fault and an Odoo fault are told apart. A few at a time, each path with a short deadline;
 * rounds never overlap and one slow instance holds only its own lane.
 */
export class UptimeChecker {
  private readonly ticker: RoundTicker;

  constructor(private readonly deps: UptimeCheckerDeps) {
    this.ticker = new RoundTicker(() => this.runOnce(), {
      intervalMs: deps.intervalMs,
      logger: deps.logger,
      failure: 'uptime: a round failed',
    });
  }

  private get timeoutMs(): number {
    return this.deps.timeoutMs ?? Math.max(1000, Math.min(5000, Math.floor(this.deps.intervalMs / 3)));
  }

  /** Instance rows as checks and messages name them. */
  private rows() {
    return this.deps.db
      .selectFrom('instances as i')
      .innerJoin('organizations as o', 'o.id', 'i.organization_id')
      .innerJoin('projects as p', 'p.id', 'i.project_id')
      .leftJoin('subscriptions as s', 's.organization_id', 'i.organization_id')
      .leftJoin('plans as pl', 'pl.id', 's.plan_id')
      .leftJoin('uptime_state as us', 'us.instance_id', 'i.id')
      .select([
        'pl.uptime_interval_s as plan_interval_s',
        'us.last_at as last_checked_at',
        'i.id',
        'i.name',
        'i.organization_id',
        'i.host_id',
        'i.container_name',
        'i.http_port',
        'i.hostname',
        'i.primary_hostname',
        'i.odoo_version',
        'o.name as organization_name',
        'p.name as project_name',
      ]);
  }

  /** The instances that should be up: production, not in a job's hands, not stopped through Marina. */
  async targets(): Promise<Row[]> {
    return this.rows()
      .where('i.stage', '=', 'production')
      .where('i.status', 'not in', [...EXPECTED_DOWN])
      .where((eb) =>
        eb.or([
          eb('i.status', '!=', 'stopped'),
          eb(
            sql<
              string | null
            >`(select kind from operations where target_type = 'instance' and target_id = i.id::text and kind in ('instance.start', 'instance.stop', 'instance.restart', 'instance.provision') order by created_at desc limit 1)`,
            'is distinct from',
            'instance.stop',
          ),
        ]),
      )
      .execute();
  }

  targetOf(row: Row): CheckTarget {
    return {
      id: row.id,
      name: row.name,
      organizationId: row.organization_id,
      organizationName: row.organization_name,
      label: `${row.project_name}/${row.name}`,
      url: this.deps.instances.url(row),
      intervalMs: this.intervalOf(row),
    };
  }

  /** A plan may ask for fewer checks than the platform makes; never more (rounds are the platform's). */
  private intervalOf(row: Row): number {
    return Math.max(this.deps.intervalMs, (row.plan_interval_s ?? 0) * 1000);
  }

  /** Due this round: never checked, or its interval (less half a round, as rounds drift) has passed. */
  private due(row: Row, now: Date): boolean {
    if (row.last_checked_at === null) return true;
    return now.getTime() - row.last_checked_at.getTime() >= this.intervalOf(row) - this.deps.intervalMs / 2;
  }

  private async direct(row: Row): Promise<PathAnswer> {
    const started = performance.now();
    const base = await this.deps.instances.internalUrl(row).catch(() => null);
    if (base === null)
      return {
        status: 0,
        error: 'the container does not run (no address)',
        ms: Math.round(performance.now() - started),
      };
    const version = parseOdooVersion(row.odoo_version);
    const path = version ? versionFacts(version).healthPath : '/web/health';
    return probe(`${base}${path}`, this.timeoutMs);
  }

  private async proxy(url: string | null): Promise<PathAnswer | null> {
    const port = this.deps.edgeHttpsPort;
    if (port === null || url === null || !url.startsWith('https://')) return null;
    return probe(`${url}/web/login`, this.timeoutMs, { host: '127.0.0.1', port });
  }

  /** One instance: both paths at once, then its record (counters, incident, messages). */
  async check(row: Row): Promise<void> {
    const target = this.targetOf(row);
    const at = this.deps.clock.now();
    const [direct, proxy] = await Promise.all([this.direct(row), this.proxy(target.url)]);
    const ok = answered(direct.status) && (proxy === null || answered(proxy.status));
    await this.deps.store.record(target, { at, ok, direct, proxy });
  }

  async runOnce(): Promise<void> {
    const rows = await this.targets();
    const now = this.deps.clock.now();
    await mapLimit(
      rows.filter((row) => this.due(row, now)),
      this.deps.concurrency ?? 8,
      (row) =>
        this.check(row).catch((error: unknown) =>
          this.deps.logger.warn({ err: error, instance: row.id }, 'uptime: a check could not be recorded'),
        ),
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    await this.deps.store.closeUnwatched([...byId.keys()], this.deps.clock.now(), (id) => this.describe(id));
    await this.deps.store.prune(this.deps.clock.now());
  }

  /** An instance no longer watched, as its "resolved" message names it. */
  private async describe(id: string): Promise<CheckTarget | null> {
    const row = await this.rows().where('i.id', '=', id).executeTakeFirst();
    return row ? this.targetOf(row) : null;
  }

  start(): void {
    this.ticker.start();
  }

  async stop(): Promise<void> {
    await this.ticker.stop();
  }
}

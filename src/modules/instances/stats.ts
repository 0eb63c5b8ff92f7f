import { databaseSize } from '../../adapters/postgres/admin.js';
import type { Actor } from '../../platform/context.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import { ODOO_DATA_DIR } from './odoo-container.js';
import type { InstanceService } from './service.js';

export interface InstanceStats {
  at: string;
  running: boolean;
  cpuPercent: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  networkRxBytes: number | null;
  networkTxBytes: number | null;
  databaseBytes: number | null;
  filestoreBytes: number | null;
  uptimeSeconds: number | null;
}

interface DockerStats {
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: {
    usage?: number;
    limit?: number;
    stats?: { inactive_file?: number; total_inactive_file?: number; cache?: number };
  };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

/** Docker's own formula: the container's share of the CPU time that passed, scaled by CPU count. */
export function cpuPercent(stats: DockerStats): number | null {
  const cpuDelta = stats.cpu_stats.cpu_usage.total_usage - stats.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats.system_cpu_usage ?? 0);
  if (systemDelta <= 0 || cpuDelta < 0) return null;
  return Math.round((cpuDelta / systemDelta) * (stats.cpu_stats.online_cpus ?? 1) * 10000) / 100;
}

/** Memory in use without the page cache, as `docker stats` shows it. */
export function memoryUsed(stats: DockerStats): number | null {
  const usage = stats.memory_stats.usage;
  if (usage === undefined) return null;
  const cache = stats.memory_stats.stats?.inactive_file ?? stats.memory_stats.stats?.total_inactive_file ?? 0;
  return usage - cache;
}

export class InstanceStatsService {
  constructor(
    private readonly instances: InstanceService,
    private readonly hosts: HostService,
    private readonly databaseServers: DatabaseServerService,
  ) {}

  async stats(actor: Actor, id: string): Promise<InstanceStats> {
    const instance = await this.instances.get(actor, id);
    const engine = await this.hosts.reachableEngine(instance.host_id);
    const state = await engine.state(instance.container_name);
    const result: InstanceStats = {
      at: new Date().toISOString(),
      running: state?.running ?? false,
      cpuPercent: null,
      memoryBytes: null,
      memoryLimitBytes: null,
      networkRxBytes: null,
      networkTxBytes: null,
      databaseBytes: null,
      filestoreBytes: null,
      uptimeSeconds:
        state?.running && state.startedAt ? Math.round((Date.now() - state.startedAt.getTime()) / 1000) : null,
    };
    const work: Promise<unknown>[] = [];
    if (state?.running) {
      work.push(
        engine.stats(instance.container_name).then((raw) => {
          const stats = raw as unknown as DockerStats;
          result.cpuPercent = cpuPercent(stats);
          result.memoryBytes = memoryUsed(stats);
          result.memoryLimitBytes = stats.memory_stats.limit ?? null;
          const networks = Object.values(stats.networks ?? {});
          result.networkRxBytes = networks.reduce((sum, n) => sum + n.rx_bytes, 0);
          result.networkTxBytes = networks.reduce((sum, n) => sum + n.tx_bytes, 0);
        }),
        engine
          .exec(instance.container_name, ['du', '-sb', `${ODOO_DATA_DIR}/filestore/${instance.db_name}`], {
            user: 'odoo',
          })
          .then((out) => {
            const bytes = Number(out.output.trim().split(/\s+/)[0]);
            result.filestoreBytes = out.exitCode === 0 && Number.isFinite(bytes) ? bytes : 0;
          }),
      );
    }
    if (instance.database_server_id) {
      work.push(
        this.databaseServers
          .get(instance.database_server_id)
          .then((server) => this.databaseServers.connection(server))
          .then((connection) => databaseSize(connection, instance.db_name))
          .then((bytes) => {
            result.databaseBytes = bytes;
          }),
      );
    }
    await Promise.allSettled(work);
    return result;
  }
}

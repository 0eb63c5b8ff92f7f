import type { WorkloadSample, WorkloadStats } from '../port.js';

/** The parts of Docker's stats answer Marina reads. */
export interface DockerStats {
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

export function workloadStats(stats: DockerStats): WorkloadStats {
  const networks = Object.values(stats.networks ?? {});
  return {
    cpuPercent: cpuPercent(stats),
    memoryBytes: memoryUsed(stats),
    memoryLimitBytes: stats.memory_stats.limit ?? null,
    networkRxBytes: networks.reduce((sum, n) => sum + n.rx_bytes, 0),
    networkTxBytes: networks.reduce((sum, n) => sum + n.tx_bytes, 0),
  };
}

const NS_PER_SECOND = 1e9;

/**
 * A monitoring sample from an inspect and, while it runs, a one-shot stats answer (no `precpu`
 * reading, so no percentage: the cumulative CPU time is what a counter needs).
 */
export function workloadSample(running: boolean, restartCount: number, stats: DockerStats | undefined): WorkloadSample {
  const cpu = stats?.cpu_stats.cpu_usage.total_usage;
  return {
    running,
    cpuSecondsTotal: typeof cpu === 'number' ? cpu / NS_PER_SECOND : null,
    memoryBytes: stats ? memoryUsed(stats) : null,
    memoryLimitBytes: stats?.memory_stats.limit ?? null,
    restarts: restartCount,
  };
}

/**
 * From an instance's size to Odoo's worker settings, by the usual rule of thumb:
 * workers = 2 × CPUs + 1, about 150 MB of real memory per light worker.
 *
 * Odoo's limit_memory_soft/hard cap each worker's *virtual* memory (RLIMIT_AS on Linux,
 * odoo/service/server.py), which is far above what it really uses: they stay at Odoo's
 * defaults to catch runaway workers, and the container's memory limit caps the real memory.
 */
export interface InstanceSize {
  /** CPUs the container may use (0.5 … 16). */
  cpus: number;
  /** Memory limit of the container in MiB (512 … 65536). */
  memoryMb: number;
}

export interface WorkerSettings {
  workers: number;
  maxCronThreads: number;
  limitMemorySoft: number;
  limitMemoryHard: number;
  limitTimeCpu: number;
  limitTimeReal: number;
}

export const sizeLimits = { cpus: { min: 0.5, max: 16 }, memoryMb: { min: 512, max: 65536 } } as const;

const MiB = 1024 * 1024;
export const LIGHT_WORKER_MB = 150;
const ODOO_DEFAULT_SOFT = 2048 * MiB;
const ODOO_DEFAULT_HARD = 2560 * MiB;

export function workerSettings({ cpus, memoryMb }: InstanceSize): WorkerSettings {
  const limits = {
    limitMemorySoft: ODOO_DEFAULT_SOFT,
    limitMemoryHard: ODOO_DEFAULT_HARD,
    limitTimeCpu: 60,
    limitTimeReal: 120,
  };
  // Below 1 GiB, threaded mode (workers = 0) uses memory best: one process, no worker pool.
  if (memoryMb < 1024) return { workers: 0, maxCronThreads: 1, ...limits };
  const byCpu = Math.max(1, Math.floor(2 * cpus + 1));
  // Keep a fifth of the memory for the PostgreSQL connections and page cache; the cron worker and
  // the gevent (websocket) process take a light worker's share each.
  const byMemory = Math.max(1, Math.floor((memoryMb * 0.8) / LIGHT_WORKER_MB) - 2);
  return { workers: Math.min(byCpu, byMemory), maxCronThreads: 1, ...limits };
}

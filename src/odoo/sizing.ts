/**
 * From an instance's size to Odoo's worker settings, by the usual rule of thumb:
 * workers = 2 × CPUs + 1, about 150 MB per light worker, and memory limits per worker that
 * let a worker be recycled before the container hits its limit.
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
const LIGHT_WORKER_MB = 150;

export function workerSettings({ cpus, memoryMb }: InstanceSize): WorkerSettings {
  // Below 1 GiB, threaded mode (workers = 0) uses memory best: one process, no worker pool.
  if (memoryMb < 1024) {
    return {
      workers: 0,
      maxCronThreads: 1,
      limitMemorySoft: 0,
      limitMemoryHard: 0,
      limitTimeCpu: 60,
      limitTimeReal: 120,
    };
  }
  const byCpu = Math.max(1, Math.floor(2 * cpus + 1));
  const cronThreads = 1;
  // Keep a third of the memory for PostgreSQL clients, the cron worker and the gevent process.
  const byMemory = Math.max(1, Math.floor((memoryMb * 0.66) / LIGHT_WORKER_MB) - cronThreads);
  const workers = Math.min(byCpu, byMemory);
  const perWorkerHardMb = Math.floor(memoryMb / (workers + cronThreads + 1));
  const hard = Math.max(256, Math.min(2560, perWorkerHardMb));
  return {
    workers,
    maxCronThreads: cronThreads,
    limitMemorySoft: Math.floor(hard * 0.8) * MiB,
    limitMemoryHard: hard * MiB,
    limitTimeCpu: 60,
    limitTimeReal: 120,
  };
}

import type { Stage } from '../../db/schema.js';
import type { HttpTotals } from './http-traffic.js';

/**
 * One instance's figures at one moment, as the sampler reads them. `null` means "not known this
 * time" (container gone, database server unreachable), never zero. Every label here is an id or a
 * fixed word: nothing a user typed reaches a metric label.
 */
export interface InstanceSample {
  instanceId: string;
  organizationId: string;
  projectId: string;
  stage: Stage;
  hostId: string;
  at: Date;
  /** The container runs and Marina reached it this time. */
  up: boolean;
  /** CPU time the container used since it started (a counter: it only grows until a restart). */
  cpuSecondsTotal: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  databaseBytes: number | null;
  /** From the last storage measurement (the read-only one-off), not measured every sample. */
  filestoreBytes: number | null;
  /** Odoo sessions used within the last hour, from the last storage measurement; null until counted. */
  odooSessions?: number | null;
  /** PostgreSQL backends connected to the instance's database. */
  connections: number | null;
  /** Times the container was restarted by its restart policy (Odoo crashed or was killed). */
  restarts: number | null;
  /**
   * HTTP requests through the edge proxy finished since the previous sample, and their latency
   * quantiles in ms; null when not measured (the edge is off, or does not serve the instance).
   */
  requests: number | null;
  responseP50Ms: number | null;
  responseP95Ms: number | null;
  /** The same requests counted since Marina started, for Prometheus; null or absent when not measured. */
  http?: HttpTotals | null;
  /** When the instance's last backup completed (null: never); read with the sample, not measured. */
  lastBackupAt?: Date | null;
}

/** Where a round of samples goes: the Prometheus snapshot and Marina's own stored series. */
export interface SampleSink {
  record(samples: readonly InstanceSample[]): Promise<void>;
}

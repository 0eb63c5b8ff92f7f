import type { FieldReader } from './config-edge.js';

/** Monitoring settings (src/modules/metrics); split from config.ts. */
export interface MetricsConfig {
  /** How often every instance is sampled (container stats, database size and connections). */
  intervalMs: number;
}

export const metricsFields = {
  intervalSeconds: {
    env: 'MARINA_METRICS_INTERVAL_S',
    describe: 'an integer from 1 to 3600 (seconds)',
    parse: (raw: string) => {
      if (!/^\d+$/.test(raw.trim())) return undefined;
      const value = Number(raw.trim());
      return value >= 1 && value <= 3600 ? value : undefined;
    },
  },
};

export function readMetricsConfig(read: FieldReader): MetricsConfig {
  return { intervalMs: read(metricsFields.intervalSeconds, 60) * 1000 };
}

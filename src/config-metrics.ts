import type { FieldReader } from './config-edge.js';
import { integer } from './config-parse.js';

/** Monitoring settings (src/modules/metrics, src/modules/uptime); split from config.ts. */
export interface MetricsConfig {
  /** How often every instance is sampled (container stats, database size and connections). */
  intervalMs: number;
}

/** Uptime checks and incidents (src/modules/uptime). */
export interface UptimeConfig {
  /** How often every running production instance is checked (through the proxy and directly). */
  intervalMs: number;
  /** Failed checks in a row that open an incident. */
  failThreshold: number;
  /** Good checks in a row that close it. */
  okThreshold: number;
}

/** The alert rules other than uptime (src/modules/alerts/evaluator.ts). */
export interface AlertsConfig {
  /** How often the rules are evaluated. */
  intervalMs: number;
  /** A host's data disk fuller than this fires `host_disk` (told to the platform's admins). */
  hostDiskPercent: number;
}

/** Following the cluster's nodes (src/modules/cluster). */
export interface ClusterConfig {
  /** Swarm's heartbeat period, set when Marina makes the swarm: a lost node shows after a few. */
  heartbeatSeconds: number;
  /** How often Marina reads the nodes' state from a manager. */
  followMs: number;
}

export interface MonitoringConfig {
  metrics: MetricsConfig;
  uptime: UptimeConfig;
  alerts: AlertsConfig;
  cluster: ClusterConfig;
}

export const metricsFields = {
  clusterHeartbeatSeconds: {
    env: 'MARINA_CLUSTER_HEARTBEAT_S',
    describe: 'an integer from 1 to 60 (seconds)',
    parse: integer(1, 60),
  },
  clusterFollowSeconds: {
    env: 'MARINA_CLUSTER_FOLLOW_S',
    describe: 'an integer from 1 to 300 (seconds)',
    parse: integer(1, 300),
  },
  intervalSeconds: {
    env: 'MARINA_METRICS_INTERVAL_S',
    describe: 'an integer from 1 to 3600 (seconds)',
    parse: integer(1, 3600),
  },
  uptimeIntervalSeconds: {
    env: 'MARINA_UPTIME_INTERVAL_S',
    describe: 'an integer from 1 to 3600 (seconds)',
    parse: integer(1, 3600),
  },
  uptimeFailThreshold: {
    env: 'MARINA_UPTIME_FAIL_THRESHOLD',
    describe: 'an integer from 1 to 100 (failed checks in a row)',
    parse: integer(1, 100),
  },
  alertsIntervalSeconds: {
    env: 'MARINA_ALERTS_INTERVAL_S',
    describe: 'an integer from 1 to 3600 (seconds)',
    parse: integer(1, 3600),
  },
  alertsHostDiskPercent: {
    env: 'MARINA_ALERT_HOST_DISK_PERCENT',
    describe: 'an integer from 50 to 99 (percent)',
    parse: integer(50, 99),
  },
  uptimeOkThreshold: {
    env: 'MARINA_UPTIME_OK_THRESHOLD',
    describe: 'an integer from 1 to 100 (good checks in a row)',
    parse: integer(1, 100),
  },
};

export function readMetricsConfig(read: FieldReader): MetricsConfig {
  return { intervalMs: read(metricsFields.intervalSeconds, 60) * 1000 };
}

export function readUptimeConfig(read: FieldReader): UptimeConfig {
  return {
    intervalMs: read(metricsFields.uptimeIntervalSeconds, 30) * 1000,
    failThreshold: read(metricsFields.uptimeFailThreshold, 3),
    okThreshold: read(metricsFields.uptimeOkThreshold, 2),
  };
}

export function readAlertsConfig(read: FieldReader): AlertsConfig {
  return {
    intervalMs: read(metricsFields.alertsIntervalSeconds, 60) * 1000,
    hostDiskPercent: read(metricsFields.alertsHostDiskPercent, 85),
  };
}

/** Every monitoring setting, as MarinaConfig holds them. */
export function readMonitoringConfig(read: FieldReader): MonitoringConfig {
  return {
    metrics: readMetricsConfig(read),
    uptime: readUptimeConfig(read),
    alerts: readAlertsConfig(read),
    cluster: {
      heartbeatSeconds: read(metricsFields.clusterHeartbeatSeconds, 5),
      followMs: read(metricsFields.clusterFollowSeconds, 5) * 1000,
    },
  };
}

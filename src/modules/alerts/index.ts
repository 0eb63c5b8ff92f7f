import type { Logger } from 'pino';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Notices } from '../../platform/notices.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { AlertChannelService } from './channels.js';
import { nodeDown } from './conditions/cluster.js';
import { backupStale, jobFailing, memoryHigh, offsiteFailed } from './conditions/instances.js';
import { certificate, hostDisk, storageQuota } from './conditions/platform.js';
import { AlertDeliveries } from './deliveries.js';
import { AlertEvaluator } from './evaluator.js';
import { AlertNotifier } from './notifier.js';
import { AlertRuleService } from './rules.js';
import { AlertTester } from './tester.js';

export { alertRoutes } from './routes.js';

export interface AlertsModuleDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  box: SecretBox;
  guard: OutboundGuard;
  notices: Notices;
  publicUrl: string;
  config: Pick<MarinaConfig, 'alerts' | 'metrics' | 'dataDir'>;
  /** Plain-http webhook URLs: only createTestApp sets it (loopback receivers). */
  allowHttp?: boolean;
}

export interface AlertsModule {
  alertChannels: AlertChannelService;
  alertRules: AlertRuleService;
  alertDeliveries: AlertDeliveries;
  alertNotifier: AlertNotifier;
  alertTester: AlertTester;
  alertEvaluator: AlertEvaluator;
}

// As for uptime (src/modules/uptime/index.ts QUIET_MS): flapping reopens, messages no closer.
const QUIET_MS = 10 * 60_000;

/** Alerts (issue #15): channels, rules, the webhook outbox, and the notifier incidents call. */
export function createAlertsModule(deps: AlertsModuleDeps): AlertsModule {
  const { db, clock, logger, audit, box, guard, notices, publicUrl } = deps;
  const alertChannels = new AlertChannelService({ db, audit, box, guard, allowHttp: deps.allowHttp === true });
  const alertDeliveries = new AlertDeliveries({ db, clock, logger, box, guard });
  const alertNotifier = new AlertNotifier({ notices, deliveries: alertDeliveries, publicUrl });
  const { config } = deps;
  return {
    alertChannels,
    alertRules: new AlertRuleService({ db, audit }),
    alertDeliveries,
    alertNotifier,
    alertEvaluator: new AlertEvaluator({
      db,
      clock,
      logger,
      notifier: alertNotifier,
      conditions: [memoryHigh, hostDisk, storageQuota, backupStale, offsiteFailed, certificate, jobFailing, nodeDown],
      context: {
        sampleIntervalMs: config.metrics.intervalMs,
        hostDiskPercent: config.alerts.hostDiskPercent,
        dataDir: config.dataDir,
      },
      intervalMs: config.alerts.intervalMs,
      quietMs: QUIET_MS,
    }),
    alertTester: new AlertTester({
      db,
      clock,
      audit,
      box,
      notices,
      channels: alertChannels,
      deliveries: alertDeliveries,
      publicUrl,
    }),
  };
}

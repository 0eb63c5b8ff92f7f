import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Notices } from '../../platform/notices.js';
import type { QuotaGate } from '../../platform/quota.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import { PlanGate } from './gate.js';
import { PlanService } from './plans.js';
import { type SubscriptionChanged, SubscriptionService } from './subscriptions.js';
import { UsageService } from './usage.js';

export { planRoutes } from './routes.js';
export type { SubscriptionChanged };

export interface PlansModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  config: Pick<MarinaConfig, 'selfService' | 'publicUrl' | 'backups' | 'postgresImage' | 'namespace'>;
  hosts: Pick<HostService, 'reachableRuntime'>;
  databaseServers: Pick<DatabaseServerService, 'get' | 'connection'>;
  /** The outbox (src/modules/notices); without it no mail is written. */
  notices?: Notices;
  /** Called after each plan change (billing, #20). */
  subscriptionChanged?: SubscriptionChanged[];
}

export interface PlansModule {
  plans: PlanService;
  subscriptions: SubscriptionService;
  /** The quotas every creating service asks, inside its transaction. */
  quotas: QuotaGate;
  usage: UsageService;
}

/** Plans, subscriptions' plan, quotas and storage usage (`planRoutes`). */
export function createPlansModule(deps: PlansModuleDeps): PlansModule {
  const { db, clock, audit, logger, config, hosts, databaseServers, notices, subscriptionChanged } = deps;
  const plans = new PlanService({ db, clock, audit });
  const quotas = new PlanGate();
  return {
    plans,
    subscriptions: new SubscriptionService({
      db,
      clock,
      audit,
      plans,
      notices,
      subscriptionChanged,
      portalUrl: config.publicUrl,
    }),
    quotas,
    usage: new UsageService({
      db,
      clock,
      logger,
      gate: quotas,
      hosts,
      databaseServers,
      notices,
      intervalMs: config.selfService.usageIntervalMs,
      portalUrl: config.publicUrl,
      // The image backups run their file helpers from: Marina's own, never the tenant's.
      filestoreProbe: { image: config.backups.toolsImage ?? config.postgresImage, namespace: config.namespace },
    }),
  };
}

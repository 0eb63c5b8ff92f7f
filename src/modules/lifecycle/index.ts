import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Notices } from '../../platform/notices.js';
import type { BackupService } from '../backups/service.js';
import type { EdgeService } from '../edge/index.js';
import type { InstanceService } from '../instances/service.js';
import type { SubscriptionService } from '../plans/subscriptions.js';
import { LifecycleService } from './service.js';
import { LifecycleSettingsService } from './settings-service.js';
import { LifecycleTicker } from './ticker.js';

export { lifecycleRoutes } from './routes.js';
export type { LifecycleService } from './service.js';
export { lifecycleSettingsRoutes } from './settings-routes.js';
export type { LifecycleTicker, TickReport } from './ticker.js';

export interface LifecycleModule {
  /** The subscriptions' status: the one writer, and the platform admin's actions. */
  lifecycle: LifecycleService;
  /** Trial reminders, trial ends, grace ends; suspended organizations' instances kept stopped. */
  lifecycleTicker: LifecycleTicker;
  /** The grace period and how long final backups are kept (platform admins). */
  lifecycleSettings: LifecycleSettingsService;
}

export interface LifecycleModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  notices: Notices;
  instances: InstanceService;
  edge: Pick<EdgeService, 'sync'>;
  subscriptions: Pick<SubscriptionService, 'start'>;
  backups: Pick<BackupService, 'removeRecordAndCopies'>;
  publicUrl: string;
}

export function createLifecycleModule(deps: LifecycleModuleDeps): LifecycleModule {
  const logger = deps.logger.child({ module: 'lifecycle' });
  const { backups: _backups, ...serviceDeps } = deps;
  const lifecycle = new LifecycleService({ ...serviceDeps, logger });
  const lifecycleTicker = new LifecycleTicker({
    db: deps.db,
    clock: deps.clock,
    logger,
    lifecycle,
    instances: deps.instances,
    backups: deps.backups,
  });
  const lifecycleSettings = new LifecycleSettingsService({ db: deps.db, clock: deps.clock, audit: deps.audit });
  return { lifecycle, lifecycleTicker, lifecycleSettings };
}

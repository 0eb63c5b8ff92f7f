import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { InstanceService } from '../instances/service.js';
import { UptimeChecker } from './checker.js';
import { UptimeReader } from './read.js';
import { type IncidentNotifier, UptimeStore } from './store.js';

export { uptimeRoutes } from './routes.js';

// Flapping: failing again within this long of a resolution reopens the incident, and messages
// about one instance and rule are at least this far apart (a "resolved" after a sent "firing" excepted).
export const QUIET_MS = 10 * 60_000;

export interface UptimeModuleDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: Pick<MarinaConfig, 'uptime' | 'edge' | 'publicUrl'>;
  instances: Pick<InstanceService, 'internalUrl' | 'url' | 'get'>;
  notifier: IncidentNotifier;
}

export interface UptimeModule {
  uptimeChecker: UptimeChecker;
  uptimeStore: UptimeStore;
  uptimeReader: UptimeReader;
}

/** Uptime checks, incidents and the SLA view (issue #15). */
export function createUptimeModule(deps: UptimeModuleDeps): UptimeModule {
  const { db, clock, logger, config, instances, notifier } = deps;
  const { intervalMs, failThreshold, okThreshold } = config.uptime;
  const uptimeStore = new UptimeStore({
    db,
    notifier,
    intervalMs,
    policy: { failThreshold, okThreshold, quietMs: QUIET_MS },
  });
  return {
    uptimeStore,
    uptimeChecker: new UptimeChecker({
      db,
      clock,
      logger,
      store: uptimeStore,
      instances,
      edgeHttpsPort: config.edge ? config.edge.httpsPort : null,
      intervalMs,
    }),
    uptimeReader: new UptimeReader({ db, clock, instances }),
  };
}

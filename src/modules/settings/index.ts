import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { systemLogRoutes } from '../instances/log-routes.js';
import { odooVersionRoutes } from './odoo-version-routes.js';
import { OutboundSettingsService } from './outbound-settings.js';
import { settingsRoutes } from './routes.js';
import { SettingsService } from './service.js';
import { SystemLogService, systemLogFile } from './system-logs.js';

export interface SettingsModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  config: Pick<MarinaConfig, 'port' | 'embeddedPostgresPort' | 'instances' | 'dataDir'>;
}

export interface SettingsModule {
  settings: SettingsService;
  /** Which internal address ranges S3, SFTP and git may reach (platform admins). */
  outbound: OutboundSettingsService;
  systemLogs: SystemLogService;
}

/** Platform settings (SMTP, outbound addresses) and Marina's own log. */
export function createSettingsModule({ db, clock, audit, box, config }: SettingsModuleDeps): SettingsModule {
  return {
    settings: new SettingsService({ db, clock, audit, box }),
    outbound: new OutboundSettingsService({
      db,
      clock,
      audit,
      ports: {
        port: config.port,
        embeddedPostgresPort: config.embeddedPostgresPort,
        instancePorts: config.instances.portRange,
      },
    }),
    systemLogs: new SystemLogService(systemLogFile(config.dataDir)),
  };
}

export const settingsModuleRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  await app.register(systemLogRoutes, options);
  await app.register(settingsRoutes, options);
  await app.register(odooVersionRoutes, options);
};

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { InstanceService } from '../instances/service.js';
import type { SettingsService } from '../settings/service.js';
import { MailCatcher } from './catcher.js';
import { InboxService } from './inbox.js';
import { MailServerService } from './mail-server.js';
import { MailStore } from './store.js';

export { mailRoutes } from './routes.js';

export interface MailModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  logger: Logger;
  config: Pick<MarinaConfig, 'dataDir' | 'mailCatcher' | 'edge'>;
  instances: InstanceService;
  databaseServers: DatabaseServerService;
  settings: SettingsService;
  guard: OutboundGuard;
}

export interface MailModule {
  /** Each instance's outgoing mail server, written into its Odoo. */
  mailServers: MailServerService;
  /** The caught mail of staging and development instances. */
  inbox: InboxService;
  /** Marina's SMTP mail catcher; undefined unless MARINA_MAIL_CATCHER_PORT is set. */
  mailCatcher: MailCatcher | undefined;
}

/** Outgoing mail per instance, and the mail catcher with its inbox. */
export function createMailModule(deps: MailModuleDeps): MailModule {
  const { db, clock, audit, box, logger, config } = deps;
  const caps = config.mailCatcher;
  const store = new MailStore({
    db,
    clock,
    dir: join(config.dataDir, 'mail'),
    keepMessages: caps?.keepMessages ?? 500,
    keepBytes: caps?.keepBytes ?? 200 * 1024 * 1024,
  });
  const mailCatcher = caps ? new MailCatcher({ db, box, logger, store, config: caps }) : undefined;
  const mailServers = new MailServerService({
    db,
    clock,
    audit,
    box,
    instances: deps.instances,
    databaseServers: deps.databaseServers,
    settings: deps.settings,
    guard: deps.guard,
    catcher: mailCatcher,
    edge: config.edge !== undefined,
  });
  return { mailServers, inbox: new InboxService({ db, audit, instances: deps.instances, store }), mailCatcher };
}

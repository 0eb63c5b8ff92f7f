import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { RuntimeFactory } from '../../runtime/port.js';
import { DatabaseServerService } from './database-servers.js';
import { HostService } from './hosts.js';

export interface HostsModuleDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  box: SecretBox;
  config: Pick<MarinaConfig, 'postgresImage' | 'namespace' | 'odooDatabaseUrl'>;
  /** How a host's runtime is reached from its address: Docker unless a test brings a stand-in. */
  runtime?: RuntimeFactory;
}

export interface HostsModule {
  hosts: HostService;
  databaseServers: DatabaseServerService;
}

/** The engines instances run on and the PostgreSQL servers their databases live in. */
export function createHostsModule({ db, clock, logger, box, config, runtime }: HostsModuleDeps): HostsModule {
  const hosts = new HostService({ db, clock, logger, connect: runtime, box });
  return {
    hosts,
    databaseServers: new DatabaseServerService({
      db,
      hosts,
      box,
      logger,
      image: config.postgresImage,
      namespace: config.namespace,
      externalUrl: config.odooDatabaseUrl,
    }),
  };
}

import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { DatabaseServerService } from '../hosts/database-servers.js';
import type { InstanceService } from '../instances/service.js';
import { DomainRechecks } from './checks.js';
import { ProtectionService } from './protection.js';
import { DomainService } from './service.js';
import { type CertificateProbe, domainsSettings, type EdgeLink } from './settings.js';
import { DnsChecker } from './verification.js';

export { domainRoutes } from './routes.js';
export type { CertificateProbe, EdgeLink } from './settings.js';

export interface DomainsModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  logger: Logger;
  config: MarinaConfig;
  instances: InstanceService;
  databaseServers: DatabaseServerService;
  /** The edge (src/modules/edge): absent until it is wired, then primary names, certificates and protection reload it. */
  edge?: EdgeLink;
  /** What the edge serves for a name (src/modules/edge/certificate-probe.ts), when the edge is on. */
  probeCertificate?: CertificateProbe;
  /** Called after an instance's primary name changed (its outgoing mail follows it: src/modules/mail). */
  primaryChanged?: (instanceId: string) => Promise<unknown>;
}

export interface DomainsModule {
  domains: DomainService;
  protection: ProtectionService;
  /** The background re-checks of pending domains (started with the other loops). */
  domainRechecks: DomainRechecks;
}

/** Custom domains, their DNS verification, primary names, uploaded certificates and access protection. */
export function createDomainsModule(deps: DomainsModuleDeps): DomainsModule {
  const settings = domainsSettings(deps.config);
  const domains = new DomainService({ ...deps, settings, dns: new DnsChecker(settings.dnsResolver) });
  return {
    domains,
    protection: new ProtectionService(deps),
    domainRechecks: new DomainRechecks(domains.checks),
  };
}

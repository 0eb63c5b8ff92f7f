import type { Logger } from 'pino';
import type { OutboundGuard } from '../../adapters/net/outbound.js';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { AuthService } from '../identity/auth.js';
import type { SignupService } from '../signup/index.js';
import { OidcDiscovery, type OidcDiscoveryOptions } from './discovery.js';
import { OidcFlowService } from './flows.js';
import { OidcProviderService } from './providers.js';

export type { OidcDiscoveryOptions } from './discovery.js';
export { oidcRoutes } from './routes.js';

export interface OidcModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  logger: Logger;
  config: Pick<MarinaConfig, 'publicUrl'>;
  guard: OutboundGuard;
  auth: AuthService;
  /** Completes a sign-up through a provider (src/modules/signup). */
  signups?: Pick<SignupService, 'completeDraft'>;
  /** Only createTestApp sets this (plain-http issuers on loopback); never env or config. */
  options?: OidcDiscoveryOptions;
}

export interface OidcModule {
  /** External sign-in providers (platform admins). */
  oidcProviders: OidcProviderService;
  /** The sign-in flow through a provider. */
  oidcFlows: OidcFlowService;
}

export function createOidcModule(deps: OidcModuleDeps): OidcModule {
  const { db, clock, audit, box, logger, guard, auth } = deps;
  const discovery = new OidcDiscovery({ clock, guard, options: deps.options ?? {} });
  const oidcProviders = new OidcProviderService({ db, clock, audit, box, discovery });
  const oidcFlows = new OidcFlowService({
    db,
    clock,
    audit,
    logger,
    auth,
    signups: deps.signups,
    providers: oidcProviders,
    discovery,
    publicUrl: deps.config.publicUrl,
  });
  return { oidcProviders, oidcFlows };
}

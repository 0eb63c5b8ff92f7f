import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import type { SettingsService } from '../settings/service.js';
import { AccountService } from './accounts.js';
import { AuthService } from './auth.js';
import { authRoutes } from './auth-routes.js';
import { InvitationService } from './invitations.js';
import { organizationRoutes } from './organization-routes.js';
import { OrganizationService } from './organizations.js';
import { SetupService } from './setup.js';
import { tokenRoutes } from './token-routes.js';
import { TokenService } from './tokens.js';
import { UserService } from './users.js';

export interface IdentityModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  config: Pick<MarinaConfig, 'session' | 'login' | 'publicUrl'>;
  /** Invitations are mailed through the SMTP settings. */
  settings: SettingsService;
}

export interface IdentityModule {
  users: UserService;
  organizations: OrganizationService;
  invitations: InvitationService;
  auth: AuthService;
  tokens: TokenService;
  accounts: AccountService;
  setup: SetupService;
}

/** Accounts, sessions, API tokens, organizations and their members, and the first-run setup. */
export function createIdentityModule({
  db,
  clock,
  audit,
  logger,
  config,
  settings,
}: IdentityModuleDeps): IdentityModule {
  const users = new UserService({ db, clock, audit });
  const organizations = new OrganizationService({ db, clock, audit });
  return {
    users,
    organizations,
    invitations: new InvitationService({
      db,
      clock,
      audit,
      organizations,
      settings,
      logger,
      publicUrl: config.publicUrl,
    }),
    auth: new AuthService({ db, clock, audit, config }),
    tokens: new TokenService({ db, clock, audit }),
    accounts: new AccountService({ db, clock, audit }),
    setup: new SetupService({ db, clock, users }),
  };
}

export const identityRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  await app.register(authRoutes, options);
  await app.register(tokenRoutes, options);
  await app.register(organizationRoutes, options);
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import type { Notices } from '../../platform/notices.js';
import type { MailRenderer } from '../../platform/notifications.js';
import type { SettingsService } from '../settings/service.js';
import { AccountService } from './accounts.js';
import { AuthService } from './auth.js';
import { authRoutes } from './auth-routes.js';
import { ImpersonationService } from './impersonation.js';
import { impersonationRoutes } from './impersonation-routes.js';
import { InvitationService } from './invitations.js';
import { organizationRoutes } from './organization-routes.js';
import { OrganizationService } from './organizations.js';
import { PasswordResetService } from './password-reset.js';
import { passwordResetRoutes } from './password-reset-routes.js';
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
  /** The editable mail templates (src/modules/notices/); without them, the built-in invitation text. */
  templates?: MailRenderer;
  /** The outbox (src/modules/notices/): password reset mails. */
  notices?: Notices;
}

export interface IdentityModule {
  users: UserService;
  organizations: OrganizationService;
  invitations: InvitationService;
  auth: AuthService;
  tokens: TokenService;
  accounts: AccountService;
  setup: SetupService;
  passwordReset: PasswordResetService;
  impersonation: ImpersonationService;
}

/** Accounts, sessions, API tokens, organizations and their members, and the first-run setup. */
export function createIdentityModule({
  db,
  clock,
  audit,
  logger,
  config,
  settings,
  templates,
  notices,
}: IdentityModuleDeps): IdentityModule {
  const users = new UserService({ db, clock, audit });
  const organizations = new OrganizationService({ db, clock, audit });
  const auth = new AuthService({ db, clock, audit, config });
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
      auth,
      templates,
    }),
    auth,
    tokens: new TokenService({ db, clock, audit }),
    accounts: new AccountService({ db, clock, audit }),
    setup: new SetupService({ db, clock, users }),
    impersonation: new ImpersonationService({ db, clock, audit, auth, organizations }),
    passwordReset: new PasswordResetService({ db, clock, audit, auth, notices, publicUrl: config.publicUrl }),
  };
}

export const identityRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  await app.register(authRoutes, options);
  await app.register(passwordResetRoutes, options);
  await app.register(impersonationRoutes, options);
  await app.register(tokenRoutes, options);
  await app.register(organizationRoutes, options);
};

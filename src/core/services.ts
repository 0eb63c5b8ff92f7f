import type { MarinaConfig } from '../config.js';
import type { Db } from '../db/database.js';
import { AuditService } from './audit.js';
import { AuthService } from './auth.js';
import type { Clock } from './clock.js';
import { OrganizationService } from './organizations.js';
import { SetupService } from './setup.js';
import { TokenService } from './tokens.js';
import { UserService } from './users.js';

export interface Services {
  audit: AuditService;
  auth: AuthService;
  users: UserService;
  tokens: TokenService;
  organizations: OrganizationService;
  setup: SetupService;
}

export function createServices(
  db: Db,
  clock: Clock,
  config: Pick<MarinaConfig, 'session' | 'login' | 'publicUrl'>,
): Services {
  const audit = new AuditService(db, clock);
  const users = new UserService(db, clock, audit);
  return {
    audit,
    users,
    auth: new AuthService(db, clock, audit, config),
    tokens: new TokenService(db, clock, audit),
    organizations: new OrganizationService(db, clock, audit, config.publicUrl),
    setup: new SetupService(db, clock, users),
  };
}

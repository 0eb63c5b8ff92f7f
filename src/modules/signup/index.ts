import type { Logger } from 'pino';
import type { MarinaConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import { buildCatalog } from '../../odoo/versions.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { OperationBus } from '../../platform/jobs/operations.js';
import type { Notices } from '../../platform/notices.js';
import type { HostService } from '../hosts/hosts.js';
import { LOCAL_HOST_ID } from '../hosts/hosts.js';
import type { AuthService } from '../identity/auth.js';
import type { OrganizationService } from '../identity/organizations.js';
import type { UserService } from '../identity/users.js';
import type { InstanceService } from '../instances/service.js';
import type { PlanService } from '../plans/plans.js';
import type { SubscriptionService } from '../plans/subscriptions.js';
import { OdooVersions } from '../settings/odoo-versions.js';
import type { SettingsService } from '../settings/service.js';
import type { TemplateService } from '../templates/index.js';
import { SignupProvisioner } from './provision.js';
import { SignupService } from './service.js';
import { SignupSettingsService } from './settings.js';
import { SignupTicker } from './tick.js';

export { signupRoutes } from './routes.js';
export type { SignupCompleted, SignupService } from './service.js';

export interface SignupModuleDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  logger: Logger;
  config: Pick<MarinaConfig, 'publicUrl' | 'edge' | 'odoo'>;
  settings: Pick<SettingsService, 'getSmtpForSending'>;
  plans: PlanService;
  subscriptions: Pick<SubscriptionService, 'start'>;
  users: Pick<UserService, 'createVerified'>;
  organizations: Pick<OrganizationService, 'createWithOwner'>;
  auth: Pick<AuthService, 'openSession'>;
  instances: InstanceService;
  hosts: Pick<HostService, 'reachableRuntime'>;
  /** The Odoo templates sign-up offers (public, not archived). */
  templates: Pick<TemplateService, 'usable' | 'publicList'>;
  notices: Notices;
  bus: OperationBus;
}

export interface SignupModule {
  /** Strangers signing up (public routes), and the completion of a sign-up through a provider. */
  signups: SignupService;
  /** Sign-up open or not, and its abuse limits (platform admins). */
  signupSettings: SignupSettingsService;
  /** Expiry, catch-up after a crash, and the welcome mail when the first instance is ready. */
  signupTicker: SignupTicker;
  /** The two steps of completing a verified sign-up (the tick's catch-up uses them too). */
  signupProvisioner: SignupProvisioner;
}

export function createSignupModule(deps: SignupModuleDeps): SignupModule {
  const { db, clock, audit, config, notices } = deps;
  const baseDomain = config.edge?.baseDomain;
  const versions = new OdooVersions({
    catalog: buildCatalog(config.odoo),
    hostId: LOCAL_HOST_ID,
    runtime: () => deps.hosts.reachableRuntime(LOCAL_HOST_ID),
  });
  const provisioner = new SignupProvisioner({
    db,
    clock,
    audit,
    users: deps.users,
    organizations: deps.organizations,
    subscriptions: deps.subscriptions,
    plans: deps.plans,
    instances: deps.instances,
    // A template archived after the request still makes the instance it was asked with.
    template: (id) => db.selectFrom('odoo_templates').selectAll().where('id', '=', id).executeTakeFirst(),
    versions: () => versions.list(),
  });
  const signupSettings = new SignupSettingsService({
    db,
    clock,
    audit,
    baseDomain,
    smtpConfigured: async () => (await deps.settings.getSmtpForSending()) !== null,
  });
  const signups = new SignupService({
    db,
    clock,
    audit,
    settings: signupSettings,
    plans: deps.plans,
    auth: deps.auth,
    notices,
    provisioner,
    templates: deps.templates,
    publicUrl: config.publicUrl,
    baseDomain,
  });
  const signupTicker = new SignupTicker({
    db,
    clock,
    logger: deps.logger.child({ module: 'signup' }),
    notices,
    provisioner,
    instances: deps.instances,
    bus: deps.bus,
    publicUrl: config.publicUrl,
    baseDomain,
  });
  return { signups, signupSettings, signupTicker, signupProvisioner: provisioner };
}

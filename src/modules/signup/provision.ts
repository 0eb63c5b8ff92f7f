import type { Selectable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Organization, SignupsTable, User } from '../../db/schema.js';
import { workerSettings } from '../../odoo/sizing.js';
import { type OdooVersion, odooVersions, parseOdooVersion } from '../../odoo/versions.js';
import type { AuditService, AuditWho } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { planJob } from '../../platform/jobs/define.js';
import type { OrganizationService } from '../identity/organizations.js';
import { asActor, defaultName, type UserService } from '../identity/users.js';
import { provisionJob } from '../instances/job-specs.js';
import type { InstanceService } from '../instances/service.js';
import type { PlanRow } from '../plans/limits.js';
import type { PlanService } from '../plans/plans.js';
import type { SubscriptionService } from '../plans/subscriptions.js';
import type { OdooVersionAvailability } from '../settings/odoo-versions.js';
import type { OdooTemplate } from './checks.js';

export type SignupRow = Selectable<SignupsTable>;

/** The first instance's name in its project. */
export const FIRST_INSTANCE = 'main';

/** Odoo's language for a sign-up locale without a template ("fr" → fr_FR); English otherwise. */
const LANGUAGES: Record<string, string> = {
  en: 'en_US',
  fr: 'fr_FR',
  de: 'de_DE',
  nl: 'nl_NL',
  es: 'es_ES',
  it: 'it_IT',
  pt: 'pt_PT',
};

export function odooLanguage(template: OdooTemplate | undefined, locale: string): string {
  if (template) return template.language;
  if (/^[a-z]{2,3}_[A-Z]{2}$/.test(locale)) return locale;
  return LANGUAGES[locale.slice(0, 2)] ?? 'en_US';
}

/** The largest usual size the plan allows (workers included): a trial has the plan's full limits. */
export function firstInstanceSize(plan: PlanRow): { cpus: number; memoryMb: number } {
  const maxCpus = plan.max_cpus === null ? Number.POSITIVE_INFINITY : Number(plan.max_cpus);
  const maxMemory = plan.max_memory_mb ?? Number.POSITIVE_INFINITY;
  const candidates = [
    { cpus: 1, memoryMb: 2048 },
    { cpus: 1, memoryMb: 1024 },
    { cpus: 0.5, memoryMb: 1024 },
    // Below 1 GiB Odoo runs threaded (no workers): fits a plan that allows none.
    { cpus: 0.5, memoryMb: 768 },
    { cpus: 0.5, memoryMb: 512 },
  ];
  const workersFit = (size: { cpus: number; memoryMb: number }) =>
    plan.max_workers === null || workerSettings(size).workers <= plan.max_workers;
  return (
    candidates.find((c) => c.cpus <= maxCpus && c.memoryMb <= maxMemory && workersFit(c)) ?? {
      cpus: 0.5,
      memoryMb: 512,
    }
  );
}

export interface SignupProvisionerDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  users: Pick<UserService, 'createVerified'>;
  organizations: Pick<OrganizationService, 'createWithOwner'>;
  subscriptions: Pick<SubscriptionService, 'start'>;
  plans: Pick<PlanService, 'row'>;
  instances: Pick<InstanceService, 'insertNew'>;
  /** The template of a sign-up (public or not: it was usable when asked). */
  template(id: string): Promise<OdooTemplate | undefined>;
  /** Which Odoo versions can run where new instances go. */
  versions(): Promise<OdooVersionAvailability[]>;
}

/** What the first transaction made: the account, the organization, its project. */
export interface Made {
  user: User;
  organization: Organization;
  projectId: string;
}

/**
 * Completes a verified sign-up: the account, the organization owned by it, its trial, a project,
 * then the first instance. The first part runs in the caller's transaction (which also claimed
 * the row), the instance in `insertNew`'s own; a crash between the two is caught up by the tick.
 */
export class SignupProvisioner {
  constructor(private readonly deps: SignupProvisionerDeps) {}

  /** The newest version Marina can run here (the template's when it has one). */
  async version(template: OdooTemplate | undefined): Promise<OdooVersion> {
    const wanted = template ? parseOdooVersion(template.odoo_version) : undefined;
    if (wanted) return wanted;
    const available = (await this.deps.versions()).filter((v) => v.available).map((v) => v.version);
    const newest = [...odooVersions].reverse().find((v) => available.includes(v));
    // Nothing runs here now: the newest, and the job's first step says what is missing.
    return newest ?? (odooVersions[odooVersions.length - 1] as OdooVersion);
  }

  /** The first part, in the transaction that claimed the row (`provisioning`). */
  async makeAccount(
    trx: Db,
    signup: SignupRow,
    who: Omit<AuditWho, 'actor'>,
    identity?: { providerId: string; subject: string },
  ): Promise<Made> {
    const now = this.deps.clock.now();
    const user = await this.deps.users.createVerified(trx, {
      email: signup.email,
      passwordHash: signup.password_hash,
      name: defaultName(signup.email),
      locale: signup.locale,
    });
    const actor = asActor(user);
    if (identity) {
      await trx
        .insertInto('user_identities')
        .values({
          user_id: user.id,
          provider_id: identity.providerId,
          subject: identity.subject,
          email: user.email,
          linked_at: now,
        })
        .execute();
    }
    const organization = await this.deps.organizations.createWithOwner(trx, {
      name: signup.organization_name,
      ownerId: user.id,
    });
    const by = { ...who, actor };
    await this.deps.audit.record(
      by,
      {
        action: 'organization.create',
        organizationId: organization.id,
        target: { type: 'organization', id: organization.id, label: organization.slug },
        details: { via: 'signup' },
      },
      trx,
    );
    await this.deps.subscriptions.start(trx, organization.id, signup.plan_id, { trial: true, who: by });
    const template = signup.template_id ? await this.deps.template(signup.template_id) : undefined;
    const odooVersion = await this.version(template);
    const project = await trx
      .insertInto('projects')
      .values({
        organization_id: organization.id,
        name: signup.subdomain,
        display_name: signup.organization_name,
        odoo_version: odooVersion,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.deps.audit.record(
      by,
      {
        action: 'project.create',
        organizationId: organization.id,
        target: { type: 'project', id: project.id, label: signup.subdomain },
        details: { odooVersion, via: 'signup' },
      },
      trx,
    );
    await this.deps.audit.record(
      by,
      {
        action: 'signup.verify',
        organizationId: organization.id,
        target: { type: 'signup', id: signup.id, label: signup.email },
        details: { subdomain: signup.subdomain, plan: signup.plan_id, template: signup.template_id },
      },
      trx,
    );
    await trx
      .updateTable('signups')
      .set({ user_id: user.id, organization_id: organization.id, verified_at: now })
      .where('id', '=', signup.id)
      .execute();
    return { user, organization, projectId: project.id };
  }

  /**
   * The second part: the first instance, `main`, production, at `<subdomain>.<base domain>`, and
   * its provisioning job. Recorded on the row; a refusal that will not change by itself (the name
   * taken meanwhile, the plan) fails the sign-up with its message.
   */
  async launch(ctx: RequestContext, signupId: string): Promise<{ instanceId: string; jobId: string }> {
    const { db } = this.deps;
    const signup = await db.selectFrom('signups').selectAll().where('id', '=', signupId).executeTakeFirstOrThrow();
    if (!signup.organization_id || !signup.user_id) throw new Error(`sign-up ${signupId} has no organization yet`);
    const project = await db
      .selectFrom('projects')
      .selectAll()
      .where('organization_id', '=', signup.organization_id)
      .where('name', '=', signup.subdomain)
      .executeTakeFirstOrThrow();
    const plan = await this.deps.plans.row(signup.plan_id);
    const template = signup.template_id ? await this.deps.template(signup.template_id) : undefined;
    try {
      const made = await this.deps.instances.insertNew(
        ctx,
        {
          project,
          name: FIRST_INSTANCE,
          stage: 'production',
          ...firstInstanceSize(plan),
          adminLogin: signup.email,
          language: odooLanguage(template, signup.locale),
          country: template?.country ?? null,
          templateId: template?.id ?? null,
          hostnameLabel: signup.subdomain,
        },
        { planned: planJob(provisionJob, {}) },
      );
      await db
        .updateTable('signups')
        .set({ instance_id: made.instance.id, operation_id: made.job.id })
        .where('id', '=', signup.id)
        .execute();
      return { instanceId: made.instance.id, jobId: made.job.id };
    } catch (error) {
      if (error instanceof MarinaError) {
        await db
          .updateTable('signups')
          .set({ status: 'failed', error: error.message })
          .where('id', '=', signup.id)
          .where('status', '=', 'provisioning')
          .execute();
      }
      throw error;
    }
  }
}

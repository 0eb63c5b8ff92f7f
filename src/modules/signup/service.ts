import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import { addMinutes, type Clock } from '../../platform/clock.js';
import type { AnonymousContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import type { Notices } from '../../platform/notices.js';
import { randomSecret, sha256 } from '../../platform/secrets/secrets.js';
import { invalid, limits, normalizeEmail, requireLabel } from '../../platform/validation.js';
import type { AuthService, LoginResult } from '../identity/auth.js';
import { hashPassword, requireStrongPassword } from '../identity/passwords.js';
import { asActor } from '../identity/users.js';
import type { PlanService, PublicPlanView } from '../plans/plans.js';
import type { TemplateService } from '../templates/index.js';
import {
  type OdooTemplate,
  type PlatformNames,
  requireAvailable,
  type SubdomainAnswer,
  subdomainAnswer,
} from './checks.js';
import { clientKey, domainGroup, PerMinuteCounter } from './client-limits.js';
import { createCredentialLink } from './credential-links.js';
import type { SignupProvisioner, SignupRow } from './provision.js';
import { emailDomain, requireAllowedDomain, requireLocale } from './request-rules.js';
import type { SignupSettings, SignupSettingsService } from './settings.js';

/** How long the emailed link works, once. */
export const VERIFY_LINK_HOURS = 24;
/** How long a sign-up through a provider may take to come back. */
export const DRAFT_MINUTES = 60;
/** Attempts are kept this long for the limits (the longest window is a day). */
const ATTEMPT_RETENTION_MINUTES = 24 * 60;
const INVALID_LINK = 'This verification link is invalid, used or expired; sign up again.';
const UNIQUE_VIOLATION = '23505';
/** The live subdomain check answers this many times a minute per client (it lists nothing, but costs queries). */
export const SUBDOMAIN_CHECKS_PER_MINUTE = 60;

export interface SignupInfo {
  open: true;
  baseDomain: string;
  plans: PublicPlanView[];
  templates: {
    id: string;
    slug: string;
    name: string;
    description: string;
    odooVersion: string;
    modules: string[];
    language: string;
    country: string | null;
    demo: boolean;
  }[];
  providers: { slug: string; name: string }[];
  passwordMinLength: number;
}

export interface SignupInput {
  email?: unknown;
  provider?: unknown;
  organizationName: unknown;
  subdomain: unknown;
  planId: unknown;
  templateId?: unknown;
  locale?: unknown;
}

export type SignupAnswer = { status: 'sent' } | { status: 'redirect'; url: string };

/** What verifying (by link or through a provider) gives the browser. */
export interface SignupCompleted {
  session: LoginResult;
  organization: { id: string; slug: string; name: string };
  instanceId: string;
  jobId: string;
  credentialsToken: string;
}

export interface SignupServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  settings: SignupSettingsService;
  plans: Pick<PlanService, 'listPublic' | 'row'>;
  auth: Pick<AuthService, 'openSession'>;
  notices: Notices;
  provisioner: SignupProvisioner;
  /** The templates a stranger may pick (public, not archived). */
  templates: Pick<TemplateService, 'usable' | 'publicList'>;
  publicUrl: string;
  /** The edge's base domain; sign-up is closed without it. */
  baseDomain: string | undefined;
}

const isUniqueViolation = (error: unknown, constraint: string): boolean =>
  (error as { code?: string; constraint?: string }).code === UNIQUE_VIOLATION &&
  (error as { constraint?: string }).constraint === constraint;

/**
 * Strangers signing up: nothing is made until the address is proven (the emailed link, or a
 * provider's verified email); the answer to a request is the same whether the address has an
 * account or not, and every public form is limited per address, per email domain and per client.
 */
export class SignupService {
  /** Live checks per client (per /64 for IPv6) in the last minute, in memory and bounded. */
  private readonly checks = new PerMinuteCounter(SUBDOMAIN_CHECKS_PER_MINUTE);

  constructor(private readonly deps: SignupServiceDeps) {}

  private get publicUrl(): string {
    return this.deps.publicUrl.replace(/\/$/, '');
  }

  /** The base domain (open() has checked it is set) and the console's URL, whose own label is never given. */
  private get names(): PlatformNames {
    return { baseDomain: this.deps.baseDomain ?? '', publicUrl: this.deps.publicUrl };
  }

  /** Open, with a base domain: else `MARINA_E_SIGNUP_CLOSED` (404). */
  private async open(): Promise<{ settings: SignupSettings; baseDomain: string }> {
    const settings = await this.deps.settings.read();
    if (!settings.enabled || !this.deps.baseDomain) throw new MarinaError('MARINA_E_SIGNUP_CLOSED');
    return { settings, baseDomain: this.deps.baseDomain };
  }

  async info(): Promise<SignupInfo> {
    const { baseDomain } = await this.open();
    const plans = (await this.deps.plans.listPublic()).filter((p) => p.trialDays > 0);
    const providers = await this.deps.db
      .selectFrom('oidc_providers')
      .select(['slug', 'name'])
      .where('enabled', '=', true)
      .where('allow_signup', '=', true)
      .orderBy('name')
      .execute();
    return {
      open: true,
      baseDomain,
      plans,
      templates: await this.deps.templates.publicList(),
      providers,
      passwordMinLength: limits.password.min,
    };
  }

  async subdomain(ctx: AnonymousContext, name: unknown): Promise<SubdomainAnswer & { hostname: string }> {
    const { settings, baseDomain } = await this.open();
    if (!this.checks.allow(clientKey(ctx.ip), this.deps.clock.now().getTime()))
      throw new MarinaError('MARINA_E_RATE_LIMITED', 'Too many subdomain checks; wait a minute.', {
        retryAfterSeconds: 60,
      });
    const answer = await subdomainAnswer(this.deps.db, settings, this.names, name);
    return { ...answer, hostname: `${answer.name}.${baseDomain}` };
  }

  async request(ctx: AnonymousContext, input: SignupInput): Promise<SignupAnswer> {
    const { settings, baseDomain } = await this.open();
    const organizationName = requireLabel(input.organizationName, 'organizationName', limits.name);
    if (organizationName === '') throw invalid('organizationName', 'Name your organization.');
    const plan = await this.requirePlan(input.planId);
    const template = await this.requireTemplate(input.templateId);
    const locale = requireLocale(input.locale);
    const common = { organizationName, planId: plan, templateId: template?.id ?? null, locale };
    if (input.provider !== undefined) {
      const subdomain = requireAvailable(await subdomainAnswer(this.deps.db, settings, this.names, input.subdomain));
      return this.draft(ctx, settings, { ...common, subdomain }, input.provider);
    }
    const email = normalizeEmail(input.email);
    const domain = emailDomain(email);
    requireAllowedDomain(settings, domain);
    const subdomain = requireAvailable(
      await subdomainAnswer(this.deps.db, settings, this.names, input.subdomain, email),
    );
    const now = this.deps.clock.now();
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await this.countAttempt(trx, settings, { email, domain, ip: clientKey(ctx.ip) }, now);
        // One pending sign-up per address: the newest wins, the older link dies.
        await trx
          .updateTable('signups')
          .set({ status: 'replaced' })
          .where(sql<boolean>`lower(email) = ${email}`)
          .where('status', '=', 'pending')
          .execute();
        const token = randomSecret(32);
        const expiresAt = addMinutes(now, VERIFY_LINK_HOURS * 60);
        // The row is written whether or not the address has an account, so the subdomain is held
        // (and replaced) the same either way and nothing tells the two apart. For an existing
        // account its token is never mailed: nobody can verify it, it simply expires.
        const row = await trx
          .insertInto('signups')
          .values({
            email,
            email_domain: domain,
            organization_name: organizationName,
            subdomain,
            plan_id: plan,
            template_id: common.templateId,
            locale,
            ip: ctx.ip,
            token_hash: sha256(token),
            created_at: now,
            expires_at: expiresAt,
            status: 'pending',
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        const existing = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
        if (existing) {
          // No enumeration: the same answer, but the mail says "sign in instead".
          await this.deps.notices.enqueue(trx, {
            key: 'signup_existing_account',
            to: email,
            vars: { email, sign_in_url: `${this.publicUrl}/login`, reset_url: `${this.publicUrl}/reset` },
            dedupeKey: `signup_existing_account:${crypto.randomUUID()}`,
          });
          await this.deps.audit.record(
            { actor: null, ip: ctx.ip, label: email },
            {
              action: 'signup.request',
              target: { type: 'signup', id: row.id, label: email },
              details: { existingAccount: true, userId: existing.id, subdomain },
            },
            trx,
          );
          return;
        }
        await this.deps.notices.enqueue(trx, {
          key: 'verify_email',
          to: email,
          vars: {
            email,
            url: `${this.publicUrl}/signup/verify#token=${encodeURIComponent(token)}`,
            expires_at: expiresAt.toISOString(),
          },
          dedupeKey: `verify_email:${row.id}`,
          locale,
        });
        await this.deps.audit.record(
          { actor: null, ip: ctx.ip, label: email },
          { action: 'signup.request', target: { type: 'signup', id: row.id, label: email }, details: { subdomain } },
          trx,
        );
      });
    } catch (error) {
      // Another address asked for the same subdomain at the same moment.
      if (isUniqueViolation(error, 'signups_held_subdomain'))
        throw new MarinaError('MARINA_E_NAME_TAKEN', `${subdomain}.${baseDomain} is taken; pick another subdomain.`, {
          field: 'subdomain',
          name: subdomain,
          reason: 'taken',
        });
      throw error;
    }
    return { status: 'sent' };
  }

  /** A sign-up through a provider: kept as a draft (no address yet) until the provider answers. */
  private async draft(
    ctx: AnonymousContext,
    settings: SignupSettings,
    fields: { organizationName: string; subdomain: string; planId: string; templateId: string | null; locale: string },
    providerSlug: unknown,
  ): Promise<SignupAnswer> {
    const provider =
      typeof providerSlug === 'string'
        ? await this.deps.db
            .selectFrom('oidc_providers')
            .select(['id', 'slug'])
            .where('slug', '=', providerSlug)
            .where('enabled', '=', true)
            .where('allow_signup', '=', true)
            .executeTakeFirst()
        : undefined;
    if (!provider) throw invalid('provider', 'This provider does not offer sign-up here.');
    const now = this.deps.clock.now();
    const id = await this.deps.db.transaction().execute(async (trx) => {
      await this.countAttempt(trx, settings, { email: '', domain: '', ip: clientKey(ctx.ip) }, now);
      const row = await trx
        .insertInto('signups')
        .values({
          email: '',
          email_domain: '',
          oidc_provider_id: provider.id,
          organization_name: fields.organizationName,
          subdomain: fields.subdomain,
          plan_id: fields.planId,
          template_id: fields.templateId,
          locale: fields.locale,
          ip: ctx.ip,
          created_at: now,
          expires_at: addMinutes(now, DRAFT_MINUTES),
          status: 'draft',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return row.id;
    });
    return { status: 'redirect', url: `/api/v1/auth/oidc/${provider.slug}/start?signup=${id}` };
  }

  /**
   * Counts this request against the limits, under locks per address, domain and client so parallel
   * requests cannot all pass below a limit. A draft has no address yet: only the client's limit
   * applies, and its completion counts the provider's address and domain (`ip: null`: the client
   * was counted when the draft was made). Domains count by their last two labels, clients per /64.
   */
  private async countAttempt(
    trx: Db,
    settings: SignupSettings,
    who: { email: string; domain: string; ip: string | null },
    now: Date,
  ): Promise<void> {
    const group = who.domain === '' ? '' : domainGroup(who.domain);
    for (const key of [`signup:${who.email}`, `signup-domain:${group}`, `signup-ip:${who.ip ?? ''}`])
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
    const day = addMinutes(now, -24 * 60);
    const hour = addMinutes(now, -60);
    const counts = await trx
      .selectFrom('public_attempts')
      .select((eb) => [
        eb.fn
          .countAll<string>()
          .filterWhere('ip', '=', who.ip ?? '')
          .filterWhere('at', '>', hour)
          .as('ip'),
        eb.fn.countAll<string>().filterWhere('email', '=', who.email).as('email'),
        eb.fn.countAll<string>().filterWhere('email_domain', '=', group).as('domain'),
      ])
      .where('kind', '=', 'signup')
      .where('at', '>', day)
      .executeTakeFirstOrThrow();
    const over =
      who.ip !== null && Number(counts.ip) >= settings.perIpPerHour
        ? { what: 'from your address', seconds: 3600 }
        : who.email !== '' && Number(counts.email) >= settings.perAddressPerDay
          ? { what: 'for this email address', seconds: 86_400 }
          : group !== '' && Number(counts.domain) >= settings.perDomainPerDay
            ? { what: 'for this email domain', seconds: 86_400 }
            : null;
    if (over)
      throw new MarinaError('MARINA_E_RATE_LIMITED', `Too many sign-ups ${over.what}; try again later.`, {
        retryAfterSeconds: over.seconds,
      });
    await trx.deleteFrom('public_attempts').where('at', '<', addMinutes(now, -ATTEMPT_RETENTION_MINUTES)).execute();
    await trx
      .insertInto('public_attempts')
      .values({ kind: 'signup', email: who.email, email_domain: group, ip: who.ip ?? '', at: now })
      .execute();
  }

  private async requirePlan(value: unknown): Promise<string> {
    const refuse = () => invalid('planId', 'Pick one of the plans offered at sign-up (public, with a trial).');
    if (typeof value !== 'string') throw refuse();
    const plan = await this.deps.plans.row(value).catch(() => undefined);
    if (!plan?.public || plan.archived_at || plan.trial_days <= 0) throw refuse();
    return plan.id;
  }

  private async requireTemplate(value: unknown): Promise<OdooTemplate | undefined> {
    if (value === undefined || value === null) return undefined;
    const template = typeof value === 'string' ? await this.deps.templates.usable(value) : null;
    if (!template) throw invalid('templateId', 'Pick one of the templates offered at sign-up.');
    return template;
  }

  /**
   * The emailed link, with the password the person chooses now (never at the request: whoever
   * asks for an address must not pick its password). Sign-up must still be open and the domain
   * still allowed; the password is checked before anything changes, so a weak one leaves the link
   * usable. Then the row is claimed `pending → provisioning` (of two clicks one acts), the
   * account, organization, trial and project are made and the browser signed in, then the first
   * instance is queued.
   */
  async verify(
    ctx: AnonymousContext,
    token: unknown,
    password: unknown,
    userAgent: string | null,
  ): Promise<SignupCompleted> {
    const { settings } = await this.open();
    if (typeof token !== 'string' || token.length === 0 || token.length > 200)
      throw new MarinaError('MARINA_E_INVALID_TOKEN', INVALID_LINK);
    const tokenHash = sha256(token);
    const now = this.deps.clock.now();
    const pending = await this.deps.db
      .selectFrom('signups')
      .select(['email'])
      .where('token_hash', '=', tokenHash)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!pending) throw new MarinaError('MARINA_E_INVALID_TOKEN', INVALID_LINK);
    requireAllowedDomain(settings, emailDomain(pending.email));
    const passwordHash = await hashPassword(requireStrongPassword(password, pending.email));
    const first = await this.deps.db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('signups')
        .set({ status: 'provisioning' })
        .where('token_hash', '=', tokenHash)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      if (!claimed) throw new MarinaError('MARINA_E_INVALID_TOKEN', INVALID_LINK);
      // The hash goes to the new account only: the sign-up row never holds a copy.
      return this.makeAndSignIn(trx, { ...claimed, password_hash: passwordHash }, ctx, userAgent);
    });
    return this.launch(ctx, first);
  }

  /**
   * A draft coming back from its provider with a verified address: completed as a verified link
   * would be, the identity linked to the new account. Sign-up must still be open, the provider's
   * address not in a refused domain and within the per-address and per-domain limits (counted
   * now: the draft had no address). The caller (the OIDC callback) has checked that the address
   * has no account.
   */
  async completeDraft(
    ctx: AnonymousContext,
    signupId: string,
    identity: { providerId: string; subject: string; email: string },
    userAgent: string | null,
  ): Promise<SignupCompleted | null> {
    const { settings } = await this.open();
    const now = this.deps.clock.now();
    const email = normalizeEmail(identity.email);
    const domain = emailDomain(email);
    requireAllowedDomain(settings, domain);
    const first = await this.deps.db.transaction().execute(async (trx) => {
      const draft = await trx
        .selectFrom('signups')
        .select('id')
        .where('id', '=', signupId)
        .where('status', '=', 'draft')
        .where('oidc_provider_id', '=', identity.providerId)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (!draft) return null;
      await this.countAttempt(trx, settings, { email, domain, ip: null }, now);
      const claimed = await trx
        .updateTable('signups')
        .set({ status: 'provisioning', email, email_domain: domain, oidc_subject: identity.subject })
        .where('id', '=', signupId)
        .where('status', '=', 'draft')
        .where('oidc_provider_id', '=', identity.providerId)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      if (!claimed) return null;
      return this.makeAndSignIn(trx, claimed, ctx, userAgent, identity);
    });
    return first ? this.launch(ctx, first) : null;
  }

  private async makeAndSignIn(
    trx: Db,
    claimed: SignupRow,
    ctx: AnonymousContext,
    userAgent: string | null,
    identity?: { providerId: string; subject: string },
  ) {
    const made = await this.deps.provisioner.makeAccount(trx, claimed, { ip: ctx.ip }, identity);
    const session = await this.deps.auth.openSession(trx, made.user, ctx, userAgent);
    return { signupId: claimed.id, made, session };
  }

  private async launch(
    ctx: AnonymousContext,
    first: Awaited<ReturnType<SignupService['makeAndSignIn']>>,
  ): Promise<SignupCompleted> {
    const { made, session } = first;
    const launched = await this.deps.provisioner.launch({ actor: asActor(made.user), ip: ctx.ip }, first.signupId);
    const credentialsToken = await createCredentialLink(this.deps.db, {
      instanceId: launched.instanceId,
      userId: made.user.id,
      purpose: 'signup',
      now: this.deps.clock.now(),
    });
    return {
      session,
      organization: { id: made.organization.id, slug: made.organization.slug, name: made.organization.name },
      instanceId: launched.instanceId,
      jobId: launched.jobId,
      credentialsToken,
    };
  }
}

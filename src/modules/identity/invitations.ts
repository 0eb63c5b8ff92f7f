import type { Logger } from 'pino';
import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Invitation, User } from '../../db/schema.js';
import { requirePlatformAdmin, requireUser, roleAtLeast } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import { addMinutes, type Clock } from '../../platform/clock.js';
import type { Actor, AnonymousContext, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import type { MailRenderer } from '../../platform/notifications.js';
import { minimumRole, requirePermission } from '../../platform/permissions.js';
import { randomSecret, sha256 } from '../../platform/secrets/secrets.js';
import { isUuid, limits, normalizeEmail, requireLabel, requireRole } from '../../platform/validation.js';
import type { SettingsService } from '../settings/service.js';
import type { AuthService, LoginResult } from './auth.js';
import { sendInvitation } from './invitation-mail.js';
import type { OrganizationService } from './organizations.js';
import { hashPassword, requireStrongPassword, verifyPassword } from './passwords.js';
import type {
  InvitationAccepted,
  InvitationPreview as InvitationPreviewSchema,
  Invitation as InvitationSchema,
  MyInvitation,
} from './schemas.js';
import { asActor, defaultName, userView } from './users.js';

const INVITE_DAYS = 7;

/** What organization admins see of an invitation: never its link. */
export type InvitationView = Static<typeof InvitationSchema>;

/** An invitation waiting for the signed-in user (the `MyInvitation` schema). */
export type MyInvitationView = Static<typeof MyInvitation>;

/** What the holder of a link learns before accepting it (the `InvitationPreview` schema). */
export type InvitationPreview = Static<typeof InvitationPreviewSchema>;

/** The answer to accepting an invitation (the `InvitationAccepted` schema). */
export type AcceptResult = Static<typeof InvitationAccepted>;

const INVALID_LINK = 'This invitation link is invalid, expired, revoked or already used; ask for a new one.';

export interface InvitationServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  organizations: OrganizationService;
  settings: SettingsService;
  logger: Logger;
  publicUrl: string;
  /** Accepting with the link signs in (a session opened in the same transaction). */
  auth: AuthService;
  /** The editable mail templates (the invitation mail); without them, the built-in text. */
  templates?: MailRenderer;
}

export type AcceptedWithSession = AcceptResult & { session: LoginResult };

/**
 * Invitations are how anyone joins an organization. The link goes to the invitee's mailbox and
 * nowhere else (a platform admin may issue a fresh one when no mail could be sent); an account is
 * created, or an existing one joins, only when the owner of the address accepts.
 */
export class InvitationService {
  constructor(private readonly deps: InvitationServiceDeps) {}

  async invite(
    ctx: RequestContext,
    idOrSlug: string,
    input: { email: unknown; role: unknown },
  ): Promise<{ status: 'invited'; invitation: InvitationView }> {
    const org = await this.deps.organizations.resolve(ctx.actor, idOrSlug);
    const access = await requirePermission(this.deps.db, ctx.actor, org.id, 'team.manage');
    const email = normalizeEmail(input.email);
    const role = requireRole(input.role);
    if (role === 'owner' && !roleAtLeast(access.role, 'owner')) {
      throw new MarinaError('MARINA_E_FORBIDDEN', 'Only owners can invite owners.');
    }
    const now = this.deps.clock.now();
    const secret = randomSecret();
    const by = ctx.actor.kind === 'user' ? ctx.actor.email : ctx.actor.label;
    const { invitation, accountExists } = await this.deps.db.transaction().execute(async (trx) => {
      const member = await trx
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select('m.role')
        .where('m.organization_id', '=', org.id)
        .where('u.email', '=', email)
        .executeTakeFirst();
      if (member) {
        throw new MarinaError('MARINA_E_CONFLICT', `${email} is already a member (${member.role}).`, {
          field: 'email',
        });
      }
      // Inviting again replaces the pending invitation: a new link, a new mail, the new role.
      const replaced = await trx
        .updateTable('invitations')
        .set({ revoked_at: now })
        .where('organization_id', '=', org.id)
        .where('email', '=', email)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const row = await trx
        .insertInto('invitations')
        .values({
          organization_id: org.id,
          email,
          role,
          token_hash: sha256(secret),
          invited_by: ctx.actor.kind === 'user' ? ctx.actor.userId : null,
          invited_by_label: by,
          created_at: now,
          expires_at: addMinutes(now, INVITE_DAYS * 24 * 60),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'invitation.create',
          organizationId: org.id,
          target: { type: 'invitation', id: row.id, label: email },
          details: { role, organization: org.slug, replaced: Number(replaced.numUpdatedRows) > 0 },
        },
        trx,
      );
      const account = await trx
        .selectFrom('users')
        .select('password_hash')
        .where('email', '=', email)
        .executeTakeFirst();
      return { invitation: row, accountExists: account?.password_hash != null };
    });

    const mailed = await this.mail(invitation, secret, org.name, accountExists);
    return { status: 'invited', invitation: this.view(mailed, ctx.actor) };
  }

  /** Sends the link to the invitee and records the outcome; never fails the invitation. */
  private async mail(invitation: Invitation, secret: string, organization: string, accountExists: boolean) {
    const outcome = await sendInvitation(
      this.deps.settings,
      this.deps.logger,
      invitation,
      {
        url: this.link(secret),
        organization,
        invitedBy: invitation.invited_by_label,
        role: invitation.role,
        expiresAt: invitation.expires_at,
        accountExists,
        publicUrl: this.deps.publicUrl,
      },
      this.deps.templates,
    );
    return this.deps.db
      .updateTable('invitations')
      .set({ mailed_at: outcome.sent ? this.deps.clock.now() : null, mail_error: outcome.error })
      .where('id', '=', invitation.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Pending invitations of an organization (expired ones included, marked), for its admins. */
  async list(actor: Actor, idOrSlug: string): Promise<InvitationView[]> {
    const org = await this.deps.organizations.resolve(actor, idOrSlug, minimumRole('team.manage'));
    const rows = await this.pending().where('organization_id', '=', org.id).orderBy('created_at', 'desc').execute();
    return rows.map((r) => this.view(r, actor));
  }

  async revoke(ctx: RequestContext, idOrSlug: string, invitationId: string): Promise<void> {
    const org = await this.deps.organizations.resolve(ctx.actor, idOrSlug, minimumRole('team.manage'));
    if (!isUuid(invitationId)) throw notFound('Invitation');
    await this.deps.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('invitations')
        .set({ revoked_at: this.deps.clock.now() })
        .where('id', '=', invitationId)
        .where('organization_id', '=', org.id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw notFound('Invitation');
      await this.deps.audit.record(
        ctx,
        {
          action: 'invitation.revoke',
          organizationId: org.id,
          target: { type: 'invitation', id: row.id, label: row.email },
          details: { role: row.role },
        },
        trx,
      );
    });
  }

  /**
   * For platform admins when no mail could be sent: a fresh link (the previous one stops working,
   * since only its fingerprint was kept) and a fresh expiry.
   */
  async issueLink(ctx: RequestContext, invitationId: string): Promise<{ url: string; expiresAt: string }> {
    requirePlatformAdmin(ctx.actor);
    if (!isUuid(invitationId)) throw notFound('Invitation');
    const secret = randomSecret();
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('invitations')
        .set({ token_hash: sha256(secret), expires_at: addMinutes(now, INVITE_DAYS * 24 * 60) })
        .where('id', '=', invitationId)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw notFound('Invitation');
      await this.deps.audit.record(
        ctx,
        {
          action: 'invitation.link',
          organizationId: row.organization_id,
          target: { type: 'invitation', id: row.id, label: row.email },
        },
        trx,
      );
      return { url: this.link(secret), expiresAt: row.expires_at.toISOString() };
    });
  }

  /** Pending invitations addressed to the signed-in account. */
  async mine(ctx: RequestContext): Promise<MyInvitationView[]> {
    const actor = requireUser(ctx.actor);
    const rows = await this.pending()
      .innerJoin('organizations as o', 'o.id', 'invitations.organization_id')
      .select(['o.slug', 'o.name'])
      .where('invitations.email', '=', actor.email)
      .where('invitations.expires_at', '>', this.deps.clock.now())
      .orderBy('invitations.created_at', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      organization: { id: r.organization_id, slug: r.slug, name: r.name },
      role: r.role,
      invitedBy: r.invited_by_label,
      expiresAt: r.expires_at.toISOString(),
    }));
  }

  /** The owner of the address, signed in as themselves, joins: no link needed. */
  async acceptAsUser(ctx: RequestContext, invitationId: string): Promise<AcceptResult> {
    const actor = requireUser(ctx.actor);
    // An API token may be limited to one organization: joining another takes the person, signed in.
    if (actor.via !== 'session') {
      throw new MarinaError('MARINA_E_FORBIDDEN', 'Accept invitations signed in to Marina, not with an API token.');
    }
    if (!isUuid(invitationId)) throw notFound('Invitation');
    const invitation = await this.pending()
      .where('id', '=', invitationId)
      .where('email', '=', actor.email)
      .where('expires_at', '>', this.deps.clock.now())
      .executeTakeFirst();
    if (!invitation) throw notFound('Invitation');
    const user = await this.deps.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', actor.userId)
      .executeTakeFirstOrThrow();
    // A password alone does not prove the address: before invitations, organization admins chose
    // passwords for other people's addresses. Only an account whose owner once opened a link sent
    // to that address may join by a click.
    if (!user.email_verified_at) {
      throw new MarinaError(
        'MARINA_E_FORBIDDEN',
        'Open the link in the invitation email to accept it: it proves the address is yours.',
      );
    }
    return this.join(ctx, invitation, user, null, false);
  }

  async preview(token: unknown): Promise<InvitationPreview> {
    const invitation = await this.byToken(token);
    const org = await this.deps.db
      .selectFrom('organizations')
      .select(['slug', 'name'])
      .where('id', '=', invitation.organization_id)
      .executeTakeFirstOrThrow();
    const user = await this.deps.db
      .selectFrom('users')
      .select('password_hash')
      .where('email', '=', invitation.email)
      .executeTakeFirst();
    return {
      email: invitation.email,
      role: invitation.role,
      organization: org,
      invitedBy: invitation.invited_by_label,
      expiresAt: invitation.expires_at.toISOString(),
      accountExists: user?.password_hash != null,
    };
  }

  /**
   * Accepting with the link: an existing account proves itself with its own password; otherwise
   * the invitee chooses the password of the account created now.
   */
  async acceptWithToken(
    ctx: AnonymousContext,
    input: { token: unknown; password: unknown; name?: unknown },
    userAgent: string | null = null,
  ): Promise<AcceptedWithSession> {
    const invitation = await this.byToken(input.token);
    const user =
      (await this.deps.db.selectFrom('users').selectAll().where('email', '=', invitation.email).executeTakeFirst()) ??
      null;
    if (user?.disabled_at) throw new MarinaError('MARINA_E_ACCOUNT_DISABLED');
    if (user?.password_hash) {
      const password = typeof input.password === 'string' ? input.password : '';
      if (!(await verifyPassword(user.password_hash, password))) {
        await this.deps.audit.record(
          { actor: null, ip: ctx.ip, label: invitation.email },
          {
            action: 'invitation.accept_failed',
            organizationId: invitation.organization_id,
            target: { type: 'invitation', id: invitation.id, label: invitation.email },
          },
        );
        throw new MarinaError('MARINA_E_INVALID_CREDENTIALS', 'The password of this account is wrong.', {
          field: 'password',
        });
      }
      return this.withSession(this.join(ctx, invitation, user, null, true, userAgent));
    }
    const password = requireStrongPassword(input.password, invitation.email);
    const name =
      input.name === undefined || input.name === '' ? undefined : requireLabel(input.name, 'name', limits.name);
    const passwordHash = await hashPassword(password);
    return this.withSession(
      this.join(
        ctx,
        invitation,
        user ?? null,
        { passwordHash, name: name ?? defaultName(invitation.email) },
        true,
        userAgent,
      ),
    );
  }

  private async withSession(accepted: Promise<AcceptResult & { session?: LoginResult }>): Promise<AcceptedWithSession> {
    const { session, ...result } = await accepted;
    if (!session) throw new Error('accepting with the link opens a session');
    return { ...result, session };
  }

  /** Claims the invitation and makes the membership, in one transaction; `claim` sets up the account. */
  private async join(
    ctx: RequestContext | AnonymousContext,
    invitation: Invitation,
    existing: User | null,
    claim: { passwordHash: string; name: string } | null,
    /** The link was used: only the address's mailbox (or a platform admin) had it. */
    viaLink: boolean,
    /** Sign in too (accepting with the link, signed out), with this browser's user agent. */
    signInAgent?: string | null,
  ): Promise<AcceptResult & { session?: LoginResult }> {
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      let user: User | null | undefined = existing;
      if (claim) {
        // A new account, or one made by an organization admin that nobody ever claimed.
        user = user
          ? await trx
              .updateTable('users')
              .set({ password_hash: claim.passwordHash, password_changed_at: now })
              .where('id', '=', user.id)
              .where('password_hash', 'is', null)
              .returningAll()
              .executeTakeFirst()
          : await trx
              .insertInto('users')
              .values({
                email: invitation.email,
                name: claim.name,
                password_hash: claim.passwordHash,
                password_changed_at: now,
                email_verified_at: now,
              })
              .onConflict((oc) => oc.column('email').doNothing())
              .returningAll()
              .executeTakeFirst();
        // Someone else claimed the address in the meantime: they must accept with their password.
        if (!user)
          throw new MarinaError('MARINA_E_CONFLICT', 'This account was just set up; accept with its password.');
        if (!existing) {
          await this.deps.audit.record(
            { actor: asActor(user), ip: ctx.ip },
            {
              action: 'user.create',
              organizationId: invitation.organization_id,
              target: { type: 'user', id: user.id, label: user.email },
            },
            trx,
          );
        }
      }
      if (!user) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
      if (viaLink && !user.email_verified_at) {
        user = await trx
          .updateTable('users')
          .set({ email_verified_at: now })
          .where('id', '=', user.id)
          .returningAll()
          .executeTakeFirstOrThrow();
      }
      const claimed = await trx
        .updateTable('invitations')
        .set({ accepted_at: now, accepted_by: user.id })
        .where('id', '=', invitation.id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (claimed.numUpdatedRows === 0n) throw new MarinaError('MARINA_E_NOT_FOUND', INVALID_LINK);
      await trx
        .insertInto('memberships')
        .values({ organization_id: invitation.organization_id, user_id: user.id, role: invitation.role })
        .onConflict((oc) => oc.columns(['organization_id', 'user_id']).doNothing())
        .execute();
      const membership = await trx
        .selectFrom('memberships as m')
        .innerJoin('organizations as o', 'o.id', 'm.organization_id')
        .select(['o.id', 'o.slug', 'o.name', 'm.role'])
        .where('m.organization_id', '=', invitation.organization_id)
        .where('m.user_id', '=', user.id)
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        { actor: asActor(user), ip: ctx.ip },
        {
          action: 'invitation.accept',
          organizationId: invitation.organization_id,
          target: { type: 'invitation', id: invitation.id, label: user.email },
          details: { role: membership.role, organization: membership.slug, newAccount: existing === null },
        },
        trx,
      );
      const session =
        signInAgent === undefined
          ? undefined
          : await this.deps.auth.openSession(trx, user, { actor: null, ip: ctx.ip }, signInAgent);
      return { user: userView(user), organization: membership, session };
    });
  }

  private async byToken(token: unknown): Promise<Invitation> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 100) {
      throw new MarinaError('MARINA_E_VALIDATION', 'The invitation link is incomplete.', { field: 'token' });
    }
    const row = await this.pending()
      .where('token_hash', '=', sha256(token))
      .where('expires_at', '>', this.deps.clock.now())
      .executeTakeFirst();
    if (!row) throw new MarinaError('MARINA_E_NOT_FOUND', INVALID_LINK);
    return row;
  }

  private pending() {
    return this.deps.db
      .selectFrom('invitations')
      .selectAll('invitations')
      .where('invitations.accepted_at', 'is', null)
      .where('invitations.revoked_at', 'is', null);
  }

  private link(secret: string): string {
    return `${this.deps.publicUrl}/invite#${secret}`;
  }

  private view(row: Invitation, actor: Actor): InvitationView {
    const platformAdmin = actor.kind === 'system' || actor.isPlatformAdmin;
    return {
      id: row.id,
      organizationId: row.organization_id,
      email: row.email,
      role: row.role,
      invitedBy: row.invited_by_label,
      createdAt: row.created_at.toISOString(),
      expiresAt: row.expires_at.toISOString(),
      expired: row.expires_at <= this.deps.clock.now(),
      mailed: row.mailed_at !== null,
      mailError: platformAdmin ? row.mail_error : null,
    };
  }
}

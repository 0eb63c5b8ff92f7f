import type { Db } from '../../db/database.js';
import { requirePlatformAdmin, requireUser } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import { addMinutes, type Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { randomSecret, sha256 } from '../../platform/secrets/secrets.js';
import { requireLabel } from '../../platform/validation.js';
import type { AuthService, LoginResult } from './auth.js';
import type { OrganizationService } from './organizations.js';
import { userView } from './users.js';

/** How long support may look as the organization before opening it again. */
export const IMPERSONATION_MINUTES = 60;

export interface ImpersonationDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  auth: AuthService;
  organizations: OrganizationService;
}

/**
 * "Open as the organization" for support: a platform admin's second session that sees one
 * organization as its owner does and changes nothing (read-only is a decision: support changes
 * things with its own admin rights, visibly). Both ends are in the organization's own audit trail,
 * with the reason, so its owners see who looked and why.
 */
export class ImpersonationService {
  constructor(private readonly deps: ImpersonationDeps) {}

  async start(
    ctx: RequestContext,
    idOrSlug: string,
    input: { reason: unknown },
    userAgent: string | null,
  ): Promise<LoginResult & { organization: { id: string; slug: string; name: string } }> {
    const actor = requireUser(ctx.actor);
    requirePlatformAdmin(actor);
    if (actor.via !== 'session') {
      throw new MarinaError(
        'MARINA_E_TOKEN_SCOPE',
        'Opening an organization as its members see it needs a browser session.',
      );
    }
    const reason = requireLabel(input.reason, 'reason', 500);
    const org = await this.deps.organizations.resolve(actor, idOrSlug);
    const user = await this.deps.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', actor.userId)
      .executeTakeFirstOrThrow();
    const now = this.deps.clock.now();
    const sessionSecret = randomSecret();
    const csrfToken = randomSecret();
    const expiresAt = addMinutes(now, IMPERSONATION_MINUTES);
    return this.deps.db.transaction().execute(async (trx) => {
      const session = await trx
        .insertInto('sessions')
        .values({
          token_hash: sha256(sessionSecret),
          user_id: user.id,
          csrf_token: csrfToken,
          created_at: now,
          last_seen_at: now,
          expires_at: expiresAt,
          ip: ctx.ip,
          user_agent: userAgent?.slice(0, 300) ?? null,
          impersonating_organization_id: org.id,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'organization.impersonate',
          organizationId: org.id,
          target: { type: 'organization', id: org.id, label: org.slug },
          details: { reason, session: session.id, until: expiresAt.toISOString() },
        },
        trx,
      );
      return {
        user: userView(user),
        sessionSecret,
        csrfToken,
        expiresAt,
        organization: { id: org.id, slug: org.slug, name: org.name },
      };
    });
  }

  /** Ends the view as the organization; the admin gets a session of their own again. */
  async end(ctx: RequestContext, userAgent: string | null): Promise<LoginResult> {
    const actor = requireUser(ctx.actor);
    const organizationId = actor.organizationId;
    if (!actor.impersonatedBy || !organizationId || !actor.sessionId) {
      throw new MarinaError('MARINA_E_CONFLICT', 'This session is not opened as an organization.');
    }
    const sessionId = actor.sessionId;
    const now = this.deps.clock.now();
    const org = await this.deps.db
      .selectFrom('organizations')
      .select(['id', 'slug'])
      .where('id', '=', organizationId)
      .executeTakeFirstOrThrow();
    const user = await this.deps.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', actor.userId)
      .executeTakeFirstOrThrow();
    return this.deps.db.transaction().execute(async (trx) => {
      // Of two parallel ends, one opens the admin's session again; the other finds it ended.
      const ended = await trx
        .updateTable('sessions')
        .set({ ended_at: now })
        .where('id', '=', sessionId)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      if (Number(ended.numUpdatedRows) === 0) throw new MarinaError('MARINA_E_UNAUTHENTICATED');
      await this.deps.audit.record(
        ctx,
        {
          action: 'organization.impersonate_end',
          organizationId: org.id,
          target: { type: 'organization', id: org.id, label: org.slug },
          details: { session: sessionId },
        },
        trx,
      );
      return this.deps.auth.openSession(trx, user, { actor: null, ip: ctx.ip }, userAgent);
    });
  }
}

import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { sha256 } from '../../platform/secrets/secrets.js';
import type { InstanceService } from '../instances/service.js';

/** What opening a credentials link answers, once: where the instance is and how to sign in to it. */
export interface OpenedCredentials {
  instance: { id: string; name: string; url: string | null };
  login: string;
  /** Null when Marina does not know a password that opens the database (a copy's users). */
  password: string | null;
}

const USED_OR_EXPIRED = 'This link was already used or has expired.';

/**
 * A link that cannot be opened. The token code, but answered 400 rather than its usual 401: the
 * caller is signed in, and a 401 would tell the web client the session ended. Every reason (unknown,
 * used, expired, another user's, the instance gone) gets these same words: nothing tells a link exists.
 */
export class InvalidLinkError extends MarinaError {
  override readonly status = 400;
  constructor() {
    super('MARINA_E_INVALID_TOKEN', USED_OR_EXPIRED);
  }
}

export interface CredentialLinkOpenerDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  instances: Pick<InstanceService, 'url'>;
}

/**
 * Opens a credentials link (src/modules/signup/credential-links.ts): the link is the permission, so
 * no role is asked, but only its own user may open it, once, within its days, while still a member
 * of the instance's organization.
 */
export class CredentialLinkOpener {
  constructor(private readonly deps: CredentialLinkOpenerDeps) {}

  async open(ctx: RequestContext, token: string): Promise<OpenedCredentials> {
    const { actor } = ctx;
    if (actor.kind !== 'user') throw new MarinaError('MARINA_E_UNAUTHENTICATED');
    // Support opened as an organization looks, never takes a customer's secrets with it.
    if (actor.impersonatedBy)
      throw new MarinaError('MARINA_E_FORBIDDEN', 'A session opened as an organization cannot open credentials links.');
    if (token.length === 0 || token.length > 200) throw new InvalidLinkError();
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      // Claimed with a conditional update: of two opens of one link, one gets the password. Another
      // user's open matches no row and leaves the link to its own user.
      const link = await trx
        .updateTable('credential_links')
        .set({ used_at: now })
        .where('token_hash', '=', sha256(token))
        .where('user_id', '=', actor.userId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['instance_id', 'purpose'])
        .executeTakeFirst();
      if (!link) throw new InvalidLinkError();
      const instance = await trx
        .selectFrom('instances')
        .innerJoin('projects', 'projects.id', 'instances.project_id')
        .selectAll('instances')
        .select('projects.name as project_name')
        .where('instances.id', '=', link.instance_id)
        .executeTakeFirst();
      // Someone removed from the organization since the link was made lost what it promised.
      const member = instance
        ? await trx
            .selectFrom('memberships')
            .select('role')
            .where('organization_id', '=', instance.organization_id)
            .where('user_id', '=', actor.userId)
            .executeTakeFirst()
        : undefined;
      if (!instance || instance.status === 'deleting' || (!member && !actor.isPlatformAdmin))
        throw new InvalidLinkError();
      // A token limited to one organization reaches nothing of another, its user's links included.
      if (actor.organizationId && actor.organizationId !== instance.organization_id) throw new InvalidLinkError();
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.reveal_credentials',
          organizationId: instance.organization_id,
          target: { type: 'instance', id: instance.id, label: `${instance.project_name}/${instance.name}` },
          details: { via: 'link', purpose: link.purpose },
        },
        trx,
      );
      const password = this.deps.box.open(
        instance.admin_password,
        sealedAt('instances', 'admin_password', instance.id),
      );
      return {
        instance: { id: instance.id, name: instance.name, url: this.deps.instances.url(instance) },
        login: instance.admin_login,
        // Empty is how an unknown password is recorded (as Reveal says it).
        password: password === '' ? null : password,
      };
    });
  }
}

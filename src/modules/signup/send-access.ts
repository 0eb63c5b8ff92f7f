import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import type { Notices } from '../../platform/notices.js';
import { requirePermissionOn } from '../../platform/permissions.js';
import type { InstanceService } from '../instances/service.js';
import { CREDENTIAL_LINK_DAYS, createCredentialLink, credentialsUrl } from './credential-links.js';

/** At most this many links are sent per instance per hour: a member's inbox is not a target to flood. */
export const SEND_ACCESS_PER_HOUR = 10;

export interface SendAccessDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notices: Notices;
  instances: Pick<InstanceService, 'get' | 'url'>;
  publicUrl: string;
}

/**
 * "Send access": mails a member of the instance's organization its address and a single-use link to
 * its credentials. Whoever may read the credentials may send them, and only to a member: the mail
 * carries no secret, the link shows it once to that member signed in.
 */
export class SendAccessService {
  constructor(private readonly deps: SendAccessDeps) {}

  async send(ctx: RequestContext, instanceId: string, userId: string): Promise<void> {
    const instance = await this.deps.instances.get(ctx.actor, instanceId);
    await requirePermissionOn(this.deps.db, ctx.actor, instance, 'instance.credentials');
    const recipient = await this.deps.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.email', 'users.disabled_at'])
      .where('memberships.organization_id', '=', instance.organization_id)
      .where('memberships.user_id', '=', userId)
      .executeTakeFirst();
    if (!recipient || recipient.disabled_at)
      throw new MarinaError('MARINA_E_VALIDATION', 'The recipient must be an active member of the organization.', {
        field: 'userId',
      });
    const context = await this.deps.db
      .selectFrom('organizations')
      .innerJoin('projects', 'projects.organization_id', 'organizations.id')
      .select(['organizations.name as organization', 'projects.name as project'])
      .where('projects.id', '=', instance.project_id)
      .executeTakeFirstOrThrow();
    const sender =
      ctx.actor.kind === 'user'
        ? await this.deps.db
            .selectFrom('users')
            .select(['name', 'email'])
            .where('id', '=', ctx.actor.userId)
            .executeTakeFirst()
        : undefined;
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      // Counted under a per-instance lock, so parallel sends cannot all squeeze under the limit.
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`send_access:${instance.id}`}, 0))`.execute(trx);
      const recent = await trx
        .selectFrom('credential_links')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('instance_id', '=', instance.id)
        .where('purpose', '=', 'send_access')
        .where('created_at', '>', new Date(now.getTime() - 3_600_000))
        .executeTakeFirstOrThrow();
      if (Number(recent.n) >= SEND_ACCESS_PER_HOUR)
        throw new MarinaError(
          'MARINA_E_RATE_LIMITED',
          `At most ${SEND_ACCESS_PER_HOUR} access mails per instance per hour; try again later.`,
          { retryAfterSeconds: 3600 },
        );
      const token = await createCredentialLink(trx, {
        instanceId: instance.id,
        userId: recipient.id,
        purpose: 'send_access',
        now,
      });
      await this.deps.notices.enqueue(trx, {
        key: 'send_access',
        to: recipient.email,
        vars: {
          organization: context.organization,
          instance: instance.name,
          instance_url: this.deps.instances.url(instance) ?? '',
          credentials_url: credentialsUrl(this.deps.publicUrl, token),
          credentials_expire_at: new Date(now.getTime() + CREDENTIAL_LINK_DAYS * 86_400_000).toISOString(),
          sent_by: sender?.name || sender?.email || 'Marina',
        },
        // Every send is its own mail: the link in it is new.
        dedupeKey: `send_access:${randomUUID()}`,
        organizationId: instance.organization_id,
      });
      await this.deps.audit.record(
        ctx,
        {
          action: 'instance.send_access',
          organizationId: instance.organization_id,
          target: { type: 'instance', id: instance.id, label: `${context.project}/${instance.name}` },
          details: { recipient: recipient.email, userId: recipient.id },
        },
        trx,
      );
    });
  }
}

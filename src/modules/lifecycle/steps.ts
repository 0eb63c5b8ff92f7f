import type { Db } from '../../db/database.js';
import type { SubscriptionStatus } from '../../db/schema-selfservice.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { RequestContext } from '../../platform/context.js';
import type { NoticeKey, Notices } from '../../platform/notices.js';

/** One row of `subscription_events`: the proof a step was done (or deliberately skipped). */
export interface StepRecord {
  key: string;
  cause: string;
  outcome?: 'done' | 'skipped';
  from?: SubscriptionStatus | null;
  to?: SubscriptionStatus | null;
  details?: Record<string, unknown>;
  at: Date;
}

/**
 * Inserts the step's row; false when a row with its key exists (the step was done before: the
 * caller does nothing more). Call it first in the step's transaction, so that the status change,
 * the audit event and the mail commit with it, or not at all.
 */
export async function recordStep(trx: Db, organizationId: string, step: StepRecord): Promise<boolean> {
  const inserted = await trx
    .insertInto('subscription_events')
    .values({
      organization_id: organizationId,
      key: step.key,
      cause: step.cause,
      outcome: step.outcome ?? 'done',
      from_status: step.from ?? null,
      to_status: step.to ?? null,
      details: JSON.stringify(step.details ?? {}),
      at: step.at,
    })
    .onConflict((oc) => oc.columns(['organization_id', 'key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** The keys among `keys` already recorded for the organization. */
export async function recordedKeys(db: Db, organizationId: string, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db
    .selectFrom('subscription_events')
    .select('key')
    .where('organization_id', '=', organizationId)
    .where('key', 'in', keys)
    .execute();
  return new Set(rows.map((r) => r.key));
}

export interface OrganizationFacts {
  id: string;
  slug: string;
  name: string;
}

export async function organizationFacts(db: Db, organizationId: string): Promise<OrganizationFacts | undefined> {
  return db
    .selectFrom('organizations')
    .select(['id', 'slug', 'name'])
    .where('id', '=', organizationId)
    .executeTakeFirst();
}

/**
 * Writes one mail per owner of the organization into the outbox, in the step's transaction. The
 * dedupe key is the step's key and the address: a step mails each owner at most once.
 */
export async function mailOwners(
  trx: Db,
  notices: Notices,
  organization: OrganizationFacts,
  notice: { key: NoticeKey; stepKey: string; portalUrl: string; vars: Record<string, unknown> },
): Promise<number> {
  const plan = await trx
    .selectFrom('subscriptions')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .select('plans.name')
    .where('subscriptions.organization_id', '=', organization.id)
    .executeTakeFirst();
  const owners = await trx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('users.email')
    .where('memberships.organization_id', '=', organization.id)
    .where('memberships.role', '=', 'owner')
    .orderBy('users.email')
    .execute();
  for (const { email } of owners) {
    await notices.enqueue(trx, {
      key: notice.key,
      to: email,
      vars: { organization: organization.name, plan: plan?.name ?? '', portal_url: notice.portalUrl, ...notice.vars },
      dedupeKey: `lifecycle:${organization.id}:${notice.stepKey}:${email.toLowerCase()}`,
      organizationId: organization.id,
    });
  }
  return owners.length;
}

/** The audit target of a subscription step: the organization, by its slug. */
export const subscriptionTarget = (organization: OrganizationFacts) => ({
  type: 'subscription' as const,
  id: organization.id,
  label: organization.slug,
});

export type AuditRecorder = Pick<AuditService, 'record'>;
export type { RequestContext };

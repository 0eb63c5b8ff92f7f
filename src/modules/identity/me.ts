import type { Static } from 'typebox';
import type { Db } from '../../db/database.js';
import type { UserActor } from '../../platform/context.js';
import { permissionsOf } from '../../platform/permissions.js';
import type { OrganizationView } from './organizations.js';
import type { MyOrganization } from './schemas.js';

/**
 * The organizations `GET /me` lists (the user's own, as a member, even for a platform admin), each
 * with what the role may do (from the one permission table) and its subscription, if it has one.
 */
export async function myOrganizations(
  db: Db,
  mine: OrganizationView[],
  actor: UserActor,
): Promise<Static<typeof MyOrganization>[]> {
  if (mine.length === 0) return [];
  const subscriptions = await db
    .selectFrom('subscriptions')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .select([
      'subscriptions.organization_id',
      'subscriptions.status',
      'subscriptions.trial_ends_at',
      'plans.name as plan_name',
    ])
    .where(
      'subscriptions.organization_id',
      'in',
      mine.map((o) => o.id),
    )
    .execute();
  return mine.map((o) => {
    // Support opened as the organization sees what its owner sees.
    const role = actor.impersonatedBy ? 'owner' : (o.role ?? 'viewer');
    const subscription = subscriptions.find((s) => s.organization_id === o.id);
    return {
      id: o.id,
      slug: o.slug,
      name: o.name,
      role,
      permissions: permissionsOf(role),
      subscription: subscription
        ? {
            status: subscription.status,
            planName: subscription.plan_name,
            trialEndsAt: subscription.trial_ends_at?.toISOString() ?? null,
          }
        : null,
    };
  });
}

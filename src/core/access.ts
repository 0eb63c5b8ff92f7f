import type { Db } from '../db/database.js';
import type { MemberRole } from '../db/schema.js';
import { MarinaError, notFound } from '../errors.js';
import type { Actor, UserActor } from './context.js';

const rank: Record<MemberRole, number> = { member: 1, admin: 2, owner: 3 };

export const roleAtLeast = (role: MemberRole, minimum: MemberRole): boolean => rank[role] >= rank[minimum];

export function requireUser(actor: Actor): UserActor {
  if (actor.kind !== 'user') throw new MarinaError('MARINA_E_UNAUTHENTICATED');
  return actor;
}

export function requirePlatformAdmin(actor: Actor): void {
  if (actor.kind === 'system') return;
  if (!actor.isPlatformAdmin) throw new MarinaError('MARINA_E_FORBIDDEN', 'Only platform administrators can do this.');
}

export interface Access {
  /** The actor's role in the organization; platform admins and the system act as owners. */
  role: MemberRole;
  viaPlatformAdmin: boolean;
}

/**
 * The one authorization check for anything that belongs to an organization. Someone who is not a
 * member gets "not found", never "forbidden": outsiders must not learn that the thing exists.
 */
export async function requireAccess(
  db: Db,
  actor: Actor,
  organizationId: string,
  minimum: MemberRole,
  what = 'Organization',
): Promise<Access> {
  if (actor.kind === 'system' || actor.isPlatformAdmin) return { role: 'owner', viaPlatformAdmin: true };
  const membership = await db
    .selectFrom('memberships')
    .select('role')
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', actor.userId)
    .executeTakeFirst();
  if (!membership) throw notFound(what);
  if (!roleAtLeast(membership.role, minimum)) {
    throw new MarinaError('MARINA_E_FORBIDDEN', `This needs the ${minimum} role in the organization.`);
  }
  return { role: membership.role, viaPlatformAdmin: false };
}

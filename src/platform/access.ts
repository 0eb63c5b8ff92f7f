import type { Db } from '../db/database.js';
import type { MemberRole } from '../db/schema.js';
import type { Actor, UserActor } from './context.js';
import { MarinaError, notFound } from './errors.js';

const rank: Record<MemberRole, number> = { viewer: 1, developer: 2, admin: 3, owner: 4 };

export const roleAtLeast = (role: MemberRole, minimum: MemberRole): boolean => rank[role] >= rank[minimum];

export function requireUser(actor: Actor): UserActor {
  if (actor.kind !== 'user') throw new MarinaError('MARINA_E_UNAUTHENTICATED');
  return actor;
}

export function requirePlatformAdmin(actor: Actor): void {
  if (actor.kind === 'system') return;
  if (actor.organizationId) {
    throw new MarinaError('MARINA_E_TOKEN_SCOPE', 'This API token is limited to one organization: it cannot do this.');
  }
  if (!actor.isPlatformAdmin) throw new MarinaError('MARINA_E_FORBIDDEN', 'Only platform administrators can do this.');
}

/**
 * Managing the account itself (its tokens, its password) needs a session or an unrestricted token:
 * a token limited to one organization must not mint itself a wider one.
 */
export function requireUnrestricted(actor: UserActor): void {
  if (actor.organizationId) {
    throw new MarinaError(
      'MARINA_E_TOKEN_SCOPE',
      'This API token is limited to one organization: it cannot manage your account or its tokens.',
    );
  }
}

/**
 * The organizations whose resources a user's lists may show: their memberships, narrowed to one
 * by an organization token. Lists of platform admins and the system are not narrowed here.
 */
export function memberOrganizations(db: Db, actor: UserActor) {
  let q = db
    .selectFrom('memberships')
    .select('memberships.organization_id')
    .where('memberships.user_id', '=', actor.userId);
  if (actor.impersonatedBy && actor.organizationId) {
    // Support opened as one organization sees that one, though not a member: the same one-column
    // subquery, so every list narrows the same way. Callers that filter on `memberships.role`
    // branch on `impersonatedBy` first (an impersonation acts as the owner).
    return db
      .selectFrom('organizations')
      .select('organizations.id as organization_id')
      .where('organizations.id', '=', actor.organizationId) as unknown as typeof q;
  }
  if (actor.organizationId) q = q.where('memberships.organization_id', '=', actor.organizationId);
  return q;
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
  // An organization token reaches nothing outside it, as if the rest did not exist.
  if (actor.kind === 'user' && actor.organizationId && actor.organizationId !== organizationId) throw notFound(what);
  // Support "opened as" the organization sees it as its owner does (read-only: the request hook).
  if (actor.kind === 'user' && actor.impersonatedBy) return { role: 'owner', viaPlatformAdmin: true };
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

import type { Db } from '../db/database.js';
import type { MemberRole, Stage } from '../db/schema.js';
import { type Access, requireAccess, roleAtLeast } from './access.js';
import type { Actor } from './context.js';

/**
 * What each role may do in an organization: the one table both the services' checks and the UI
 * (through `GET /me`) read, so they cannot disagree. Roles rank owner > admin > developer > viewer.
 * On production some permissions need more (Odoo.sh: developers work on staging and development,
 * admins run production).
 */
export const permissions = {
  'instance.view': { min: 'viewer' },
  'project.view': { min: 'viewer' },
  'backup.view': { min: 'viewer' },
  'domain.view': { min: 'viewer' },
  'team.view': { min: 'viewer' },
  'instance.logs': { min: 'developer', productionMin: 'developer' },
  'instance.operate': { min: 'developer', productionMin: 'admin' },
  'instance.credentials': { min: 'developer', productionMin: 'admin' },
  'repository.manage': { min: 'developer', productionMin: 'admin' },
  'backup.manage': { min: 'admin', productionMin: 'admin' },
  'domain.manage': { min: 'admin', productionMin: 'admin' },
  'instance.resize': { min: 'admin', productionMin: 'admin' },
  'team.manage': { min: 'admin' },
  'audit.view': { min: 'admin' },
  'alerts.manage': { min: 'admin' },
  'billing.manage': { min: 'owner' },
} as const satisfies Record<string, { min: MemberRole; productionMin?: MemberRole }>;

export type Permission = keyof typeof permissions;
export const permissionNames = Object.keys(permissions) as Permission[];

/** The role a permission needs on an instance of this stage (or anywhere, without one). */
export function minimumRole(permission: Permission, stage?: Stage): MemberRole {
  const rule: { min: MemberRole; productionMin?: MemberRole } = permissions[permission];
  return stage === 'production' && rule.productionMin ? rule.productionMin : rule.min;
}

/**
 * What a role may do: on an instance of `stage`, or (without one) the list `GET /me` answers, where
 * a plain name is held on staging and development and `<name>@production` on production, so a
 * client asks `stage === 'production' ? 'instance.operate@production' : 'instance.operate'`
 * without knowing the table.
 */
export function permissionsOf(role: MemberRole, stage?: Stage): string[] {
  if (stage !== undefined) return permissionNames.filter((p) => roleAtLeast(role, minimumRole(p, stage)));
  return [
    ...permissionNames.filter((p) => roleAtLeast(role, minimumRole(p))),
    ...permissionNames.filter((p) => roleAtLeast(role, minimumRole(p, 'production'))).map((p) => `${p}@production`),
  ];
}

/**
 * The permission check of everything that belongs to an organization: outsiders get "not found"
 * (they must not learn the thing exists), members without the role "forbidden".
 */
export function requirePermission(
  db: Db,
  actor: Actor,
  organizationId: string,
  permission: Permission,
  stage?: Stage,
  what = 'Organization',
): Promise<Access> {
  return requireAccess(db, actor, organizationId, minimumRole(permission, stage), what);
}

/**
 * `requirePermission` on a thing of an organization: an instance (its stage counts) or anything
 * else with an `organization_id` (a project, a repository).
 */
export function requirePermissionOn(
  db: Db,
  actor: Actor,
  thing: { organization_id: string; stage?: Stage },
  permission: Permission,
  what = 'Instance',
): Promise<Access> {
  return requirePermission(db, actor, thing.organization_id, permission, thing.stage, what);
}

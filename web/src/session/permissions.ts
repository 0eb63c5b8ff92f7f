import type { Stage } from '../api/types';
import { type Me, useMe } from './SessionContext';

/**
 * What a member may do, as `GET /me` lists it per organization from the server's one permission
 * table (src/platform/permissions.ts). The names are repeated here only as a type: the list of
 * what a role holds always comes from the server, so the UI cannot grant what the API refuses.
 */
export type Permission =
  | 'instance.view'
  | 'project.view'
  | 'backup.view'
  | 'domain.view'
  | 'team.view'
  | 'instance.logs'
  | 'instance.operate'
  | 'instance.credentials'
  | 'repository.manage'
  | 'backup.manage'
  | 'domain.manage'
  | 'instance.resize'
  | 'team.manage'
  | 'audit.view'
  | 'alerts.manage'
  | 'billing.manage';

/** The organization a support session is opened as (read-only), or null for an ordinary one. */
export function impersonatedOrganization(me: Me): Me['organizations'][number] | null {
  if (!me.impersonating) return null;
  return me.organizations.find((o) => o.id === me.impersonating) ?? null;
}

/** True for the operator's own screens: a platform admin not looking through a customer's eyes. */
export function isOperator(me: Me): boolean {
  return me.user.isPlatformAdmin && !me.impersonating;
}

/**
 * Whether the signed-in user may do `permission` in the organization, on an instance of `stage`
 * (production needs more for some: `/me` names those `<name>@production`). The only way a page
 * decides to show or enable an action. A platform admin may do everything; a support session
 * sees what the organization's owner sees (its writes are refused by the server, read-only).
 */
export function can(
  me: Me,
  organizationId: string | null | undefined,
  permission: Permission,
  stage?: Stage | null,
): boolean {
  if (isOperator(me)) return true;
  if (!organizationId) return false;
  const granted = me.organizations.find((o) => o.id === organizationId)?.permissions ?? [];
  return granted.includes(stage === 'production' ? `${permission}@production` : permission);
}

/** `can` for the user signed in on this page. */
export function useCan(
  organizationId: string | null | undefined,
  permission: Permission,
  stage?: Stage | null,
): boolean {
  return can(useMe(), organizationId, permission, stage);
}

/** Whether the user may do `permission` in at least one of their organizations (e.g. a "New" button). */
export function canAnywhere(me: Me, permission: Permission, stage?: Stage | null): boolean {
  return isOperator(me) || me.organizations.some((o) => can(me, o.id, permission, stage));
}

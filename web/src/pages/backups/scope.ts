import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { organizationsQuery, projectsQuery, queryKeys } from '../../api/queries';
import type { Instance, Organization, Project } from '../../api/types';
import { can } from '../../session/permissions';
import { useMe } from '../../session/SessionContext';

/** Statuses whose instance can take data (a restore, clone or import target) or give it (a clone source). */
const unusable = new Set(['provisioning', 'failed', 'deleting', 'restoring']);
export const canTakeData = (instance: Instance): boolean => !unusable.has(instance.status);

/**
 * Where the user may write, and what the filters name. Instances are not in it: with thousands
 * of them, each page finds the one it needs by name (InstancePicker) or fetches it by id.
 */
export interface Scope {
  /** Where the user may write: organizations they administer, and their projects. */
  organizations: Organization[];
  projects: Project[];
  /** Every organization the user can see, members' organizations included (for filters). */
  visibleOrganizations: Organization[];
  loading: boolean;
  error: unknown;
  isAdminOf(organizationId: string): boolean;
  /** Whether data may go into the instance, or come out of it for a clone: an organization the user administers, and a ready instance. */
  canFill(instance: Instance): boolean;
  organizationName(id: string): string;
  projectOf(instance: Pick<Instance, 'projectId'>): Project | undefined;
  /** A project or instance was made or changed here: fetch them again. */
  reload(): void;
}

/**
 * What the user may restore, clone or import into: the organizations they administer (every one
 * for platform admins), with their projects.
 */
export function useAdminScope(): Scope {
  const me = useMe();
  const queryClient = useQueryClient();
  const orgs = useQuery(organizationsQuery());
  const projects = useQuery(projectsQuery());
  return useMemo(() => {
    // Restoring, cloning into and importing need `backup.manage` (the one table, through /me).
    const isAdminOf = (id: string) => can(me, id, 'backup.manage');
    const projectMap = new Map((projects.data ?? []).map((p) => [p.id, p]));
    return {
      organizations: (orgs.data ?? []).filter((o) => isAdminOf(o.id)),
      projects: (projects.data ?? []).filter((p) => isAdminOf(p.organizationId)),
      visibleOrganizations: orgs.data ?? [],
      loading: !orgs.data || !projects.data,
      error: orgs.error ?? projects.error,
      isAdminOf,
      canFill: (instance: Instance) => isAdminOf(instance.organizationId) && canTakeData(instance),
      organizationName: (id: string) => (orgs.data ?? []).find((o) => o.id === id)?.name ?? '',
      projectOf: (instance: Pick<Instance, 'projectId'>) => projectMap.get(instance.projectId),
      reload: () => {
        void queryClient.invalidateQueries({ queryKey: queryKeys.projects.all });
        void queryClient.invalidateQueries({ queryKey: queryKeys.instances.all });
      },
    };
  }, [me, orgs.data, orgs.error, projects.data, projects.error, queryClient]);
}

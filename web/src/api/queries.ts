import { infiniteQueryOptions, type QueryClient, queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../src/api/schema';
import { api, call } from './client';
import type { AuditQuery, BackupQuery, BackupRunQuery, Instance } from './types';

type QueryOf<Path extends keyof paths> = paths[Path] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never;

export type JobQuery = QueryOf<'/api/v1/jobs'>;
export type DestinationQuery = QueryOf<'/api/v1/destinations'>;
export type ModuleQuery = QueryOf<'/api/v1/instances/{id}/modules'>;
export interface InstanceSearch {
  search: string;
  organization?: string | undefined;
}

/**
 * Query keys, one tree per resource: invalidating a branch (say `queryKeys.backups.all`) refreshes
 * every list of that resource on screen and nothing else.
 */
export const queryKeys = {
  organizations: {
    all: ['organizations'] as const,
    list: () => [...queryKeys.organizations.all, 'list'] as const,
    /** By slug or id, as the page address names it. */
    detail: (idOrSlug: string) => [...queryKeys.organizations.all, 'detail', idOrSlug] as const,
    members: (idOrSlug: string) => [...queryKeys.organizations.all, 'members', idOrSlug] as const,
    invitations: (id: string) => [...queryKeys.organizations.all, 'invitations', id] as const,
  },
  myInvitations: ['my-invitations'] as const,
  projects: {
    all: ['projects'] as const,
    list: () => [...queryKeys.projects.all, 'list'] as const,
  },
  repositories: {
    all: ['repositories'] as const,
    ofProject: (projectId: string) => [...queryKeys.repositories.all, 'project', projectId] as const,
  },
  instances: {
    all: ['instances'] as const,
    /** The instance list a page at a time (instance-pages.ts). */
    pages: () => [...queryKeys.instances.all, 'pages'] as const,
    /** What an instance picker offers for what was typed. */
    search: (query: InstanceSearch) => [...queryKeys.instances.all, 'search', query] as const,
    ofProject: (projectId: string) => [...queryKeys.instances.all, 'project', projectId] as const,
    ofOrganization: (organizationId: string) => [...queryKeys.instances.all, 'organization', organizationId] as const,
    detail: (id: string) => [...queryKeys.instances.all, 'detail', id] as const,
    database: (id: string) => [...queryKeys.instances.all, 'database', id] as const,
  },
  modules: {
    all: ['modules'] as const,
    ofInstance: (instanceId: string) => [...queryKeys.modules.all, instanceId] as const,
    list: (instanceId: string, query: ModuleQuery) => [...queryKeys.modules.ofInstance(instanceId), query] as const,
  },
  schedules: {
    all: ['schedules'] as const,
    ofInstance: (instanceId: string) => [...queryKeys.schedules.all, instanceId] as const,
  },
  backups: {
    all: ['backups'] as const,
    list: (query: BackupQuery) => [...queryKeys.backups.all, 'list', query] as const,
    ofInstance: (instanceId: string) => [...queryKeys.backups.all, 'instance', instanceId] as const,
  },
  backupRuns: {
    all: ['backup-runs'] as const,
    list: (query: BackupRunQuery) => [...queryKeys.backupRuns.all, query] as const,
    /** The history table: its filters name a time range, turned into a date when it is asked. */
    history: (scope: { instanceId?: string; organizationId?: string }, filters: object) =>
      [...queryKeys.backupRuns.all, 'history', scope, filters] as const,
  },
  destinations: {
    all: ['destinations'] as const,
    list: (query: DestinationQuery) => [...queryKeys.destinations.all, query] as const,
  },
  jobs: {
    all: ['jobs'] as const,
    list: (query: JobQuery) => [...queryKeys.jobs.all, 'list', query] as const,
    detail: (id: string) => [...queryKeys.jobs.all, 'detail', id] as const,
  },
  hosts: ['hosts'] as const,
  tokens: ['tokens'] as const,
  users: ['users'] as const,
  reconcile: ['reconcile'] as const,
  databaseTemplates: {
    all: ['database-templates'] as const,
    list: () => [...queryKeys.databaseTemplates.all, 'list'] as const,
    warm: () => [...queryKeys.databaseTemplates.all, 'warm'] as const,
  },
  settings: {
    smtp: ['settings', 'smtp'] as const,
    git: ['settings', 'git'] as const,
    imports: ['settings', 'imports'] as const,
    outbound: ['settings', 'outbound'] as const,
  },
  audit: {
    categories: ['audit', 'categories'] as const,
    events: (query: AuditQuery) => ['audit', 'events', query] as const,
  },
};

export const organizationsQuery = () =>
  queryOptions({
    queryKey: queryKeys.organizations.list(),
    queryFn: async () => (await call(api.GET('/api/v1/organizations'))).organizations,
  });

export const organizationQuery = (idOrSlug: string) =>
  queryOptions({
    queryKey: queryKeys.organizations.detail(idOrSlug),
    queryFn: async () =>
      (await call(api.GET('/api/v1/organizations/{id}', { params: { path: { id: idOrSlug } } }))).organization,
  });

export const membersQuery = (idOrSlug: string) =>
  queryOptions({
    queryKey: queryKeys.organizations.members(idOrSlug),
    queryFn: async () =>
      (await call(api.GET('/api/v1/organizations/{id}/members', { params: { path: { id: idOrSlug } } }))).members,
  });

export const invitationsQuery = (organizationId: string) =>
  queryOptions({
    queryKey: queryKeys.organizations.invitations(organizationId),
    queryFn: async () =>
      (await call(api.GET('/api/v1/organizations/{id}/invitations', { params: { path: { id: organizationId } } })))
        .invitations,
  });

export const myInvitationsQuery = () =>
  queryOptions({
    queryKey: queryKeys.myInvitations,
    queryFn: async () => (await call(api.GET('/api/v1/me/invitations'))).invitations,
  });

export const projectsQuery = () =>
  queryOptions({
    queryKey: queryKeys.projects.list(),
    queryFn: async () => (await call(api.GET('/api/v1/projects'))).projects,
  });

export const repositoriesQuery = (projectId: string) =>
  queryOptions({
    queryKey: queryKeys.repositories.ofProject(projectId),
    queryFn: async () =>
      (await call(api.GET('/api/v1/projects/{id}/repositories', { params: { path: { id: projectId } } }))).repositories,
  });

/** How many matches an instance picker offers: a short list to choose from, never the whole one. */
export const INSTANCE_SEARCH_LIMIT = 20;

/**
 * The newest instances whose name (or organization's slug, or project's name) holds `search`;
 * the newest of all without it. One short page: the API counts the rest in `total`.
 */
export const instanceSearchQuery = (query: InstanceSearch) =>
  queryOptions({
    queryKey: queryKeys.instances.search(query),
    queryFn: () =>
      call(
        api.GET('/api/v1/instances', {
          params: {
            query: {
              limit: INSTANCE_SEARCH_LIMIT,
              // A picker shows matches, never their count: the first page need not count every row.
              counts: false,
              ...(query.search ? { search: query.search } : {}),
              ...(query.organization ? { organization: query.organization } : {}),
            },
          },
        }),
      ),
  });

/** One project's instances (a handful), not every instance the user can see. */
export const projectInstancesQuery = (projectId: string) =>
  queryOptions({
    queryKey: queryKeys.instances.ofProject(projectId),
    queryFn: async () =>
      (await call(api.GET('/api/v1/instances', { params: { query: { project: projectId } } }))).instances,
    enabled: Boolean(projectId),
  });

/** How many instances an organization has: the first page's count, one row fetched, not the list. */
export const organizationInstanceCountQuery = (organizationId: string) =>
  queryOptions({
    queryKey: [...queryKeys.instances.ofOrganization(organizationId), 'count'] as const,
    queryFn: async () =>
      (await call(api.GET('/api/v1/instances', { params: { query: { organization: organizationId, limit: 1 } } })))
        .total ?? 0,
    enabled: Boolean(organizationId),
  });

export const instanceQuery = (id: string) =>
  queryOptions({
    queryKey: queryKeys.instances.detail(id),
    queryFn: async () => (await call(api.GET('/api/v1/instances/{id}', { params: { path: { id } } }))).instance,
  });

export const databaseQuery = (instanceId: string) =>
  queryOptions({
    queryKey: queryKeys.instances.database(instanceId),
    queryFn: async () =>
      (await call(api.GET('/api/v1/instances/{id}/database', { params: { path: { id: instanceId } } }))).database,
  });

export const modulesQuery = (instanceId: string, query: ModuleQuery) =>
  queryOptions({
    queryKey: queryKeys.modules.list(instanceId, query),
    queryFn: async () =>
      (await call(api.GET('/api/v1/instances/{id}/modules', { params: { path: { id: instanceId }, query } }))).modules,
  });

export const scheduleQuery = (instanceId: string) =>
  queryOptions({
    queryKey: queryKeys.schedules.ofInstance(instanceId),
    queryFn: async () =>
      (await call(api.GET('/api/v1/instances/{id}/schedule', { params: { path: { id: instanceId } } }))).schedule,
  });

export const backupsQuery = (query: BackupQuery) =>
  queryOptions({
    queryKey: queryKeys.backups.list(query),
    queryFn: async () => (await call(api.GET('/api/v1/backups', { params: { query } }))).backups,
  });

export const instanceBackupsQuery = (instanceId: string) =>
  queryOptions({
    queryKey: queryKeys.backups.ofInstance(instanceId),
    queryFn: async () =>
      (await call(api.GET('/api/v1/instances/{id}/backups', { params: { path: { id: instanceId } } }))).backups,
  });

export const backupRunsQuery = (query: BackupRunQuery) =>
  queryOptions({
    queryKey: queryKeys.backupRuns.list(query),
    queryFn: async () => (await call(api.GET('/api/v1/backup-runs', { params: { query } }))).runs,
  });

export const destinationsQuery = (query: DestinationQuery) =>
  queryOptions({
    queryKey: queryKeys.destinations.list(query),
    queryFn: async () => (await call(api.GET('/api/v1/destinations', { params: { query } }))).destinations,
  });

export const jobsQuery = (query: JobQuery) =>
  queryOptions({
    queryKey: queryKeys.jobs.list(query),
    queryFn: async () => (await call(api.GET('/api/v1/jobs', { params: { query } }))).jobs,
  });

export const jobQuery = (id: string) =>
  queryOptions({
    queryKey: queryKeys.jobs.detail(id),
    queryFn: () => call(api.GET('/api/v1/jobs/{id}', { params: { path: { id } } })),
  });

export const hostsQuery = () =>
  queryOptions({
    queryKey: queryKeys.hosts,
    queryFn: async () => (await call(api.GET('/api/v1/hosts'))).hosts,
  });

export const tokensQuery = () =>
  queryOptions({
    queryKey: queryKeys.tokens,
    queryFn: async () => (await call(api.GET('/api/v1/tokens'))).tokens,
  });

export const usersQuery = () =>
  queryOptions({
    queryKey: queryKeys.users,
    queryFn: async () => (await call(api.GET('/api/v1/users'))).users,
  });

export const reconcileQuery = () =>
  queryOptions({
    queryKey: queryKeys.reconcile,
    queryFn: () => call(api.GET('/api/v1/reconcile')),
  });

export const databaseTemplatesQuery = () =>
  queryOptions({
    queryKey: queryKeys.databaseTemplates.list(),
    queryFn: async () => (await call(api.GET('/api/v1/database-templates'))).templates,
  });

export const warmTemplatesQuery = () =>
  queryOptions({
    queryKey: queryKeys.databaseTemplates.warm(),
    queryFn: () => call(api.GET('/api/v1/database-templates/warm')),
  });

export const smtpSettingsQuery = () =>
  queryOptions({
    queryKey: queryKeys.settings.smtp,
    queryFn: async () => (await call(api.GET('/api/v1/settings/smtp'))).smtp,
  });

export const gitSettingsQuery = () =>
  queryOptions({
    queryKey: queryKeys.settings.git,
    queryFn: async () => (await call(api.GET('/api/v1/settings/git'))).git,
  });

export const importSettingsQuery = () =>
  queryOptions({
    queryKey: queryKeys.settings.imports,
    queryFn: async () => (await call(api.GET('/api/v1/settings/imports'))).imports,
  });

export const outboundSettingsQuery = () =>
  queryOptions({
    queryKey: queryKeys.settings.outbound,
    queryFn: async () => (await call(api.GET('/api/v1/settings/outbound'))).outbound,
  });

export const auditCategoriesQuery = () =>
  queryOptions({
    queryKey: queryKeys.audit.categories,
    queryFn: async () => (await call(api.GET('/api/v1/audit/categories'))).categories,
  });

/** The audit trail, a page at a time: each page names the cursor of the next. */
export const auditEventsQuery = (query: AuditQuery) =>
  infiniteQueryOptions({
    queryKey: queryKeys.audit.events(query),
    queryFn: ({ pageParam }) =>
      call(api.GET('/api/v1/audit', { params: { query: pageParam ? { ...query, cursor: pageParam } : query } })),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

/**
 * A job of an instance ended: the instance, its jobs, backups and runs, modules, schedule, database
 * and its project's repositories may all have changed.
 */
export async function invalidateInstance(
  queryClient: QueryClient,
  instance: Pick<Instance, 'id' | 'projectId'>,
): Promise<void> {
  const keys = [
    queryKeys.instances.all,
    queryKeys.jobs.all,
    queryKeys.backups.all,
    queryKeys.backupRuns.all,
    queryKeys.modules.ofInstance(instance.id),
    queryKeys.schedules.ofInstance(instance.id),
    queryKeys.repositories.ofProject(instance.projectId),
  ];
  await Promise.all(keys.map((queryKey) => queryClient.invalidateQueries({ queryKey })));
}

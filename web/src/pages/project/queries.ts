import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';
import { queryKeys } from '../../api/queries';
import { instanceStatusLook } from '../../operate';

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

/** A project with its instances by stage, as GET /projects/:id answers it. */
export type ProjectOverview = Json<paths['/api/v1/projects/{id}']['get']['responses'][200]>;
export type ProjectInstance = ProjectOverview['stages']['production'][number];

/** While an instance of the project is changing (provisioning, restarting…), the page polls. */
const POLL_MS = 5000;

export const projectOverviewQuery = (id: string) =>
  queryOptions({
    // Under projects.all: whatever refreshes the projects refreshes this page too.
    queryKey: [...queryKeys.projects.all, 'overview', id] as const,
    queryFn: async () => call(api.GET('/api/v1/projects/{id}', { params: { path: { id } } })),
    refetchInterval: (query) => {
      const stages = query.state.data?.stages;
      if (!stages) return false;
      const all = [...stages.production, ...stages.staging, ...stages.development];
      return all.some((i) => instanceStatusLook[i.status]?.transitional) ? POLL_MS : false;
    },
  });

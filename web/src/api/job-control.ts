import { type QueryClient, queryOptions } from '@tanstack/react-query';
import { api, call } from './client';
import { queryKeys } from './queries';
import type { Job } from './types';

/** The jobs holding an instance now, and the actions refused while they do. */
export const holdingQuery = (target: string) =>
  queryOptions({
    queryKey: [...queryKeys.jobs.all, 'holding', target] as const,
    queryFn: () => call(api.GET('/api/v1/jobs/holding', { params: { query: { target } } })),
  });

export async function cancelJob(id: string): Promise<Job> {
  return (await call(api.POST('/api/v1/jobs/{id}/cancel', { params: { path: { id } } }))).job;
}

export async function retryJob(id: string): Promise<Job> {
  return (await call(api.POST('/api/v1/jobs/{id}/retry', { params: { path: { id } } }))).job;
}

/** After a cancel or retry: every list and detail of jobs, and what they hold, may have changed. */
export const invalidateJobs = (client: QueryClient) => client.invalidateQueries({ queryKey: queryKeys.jobs.all });

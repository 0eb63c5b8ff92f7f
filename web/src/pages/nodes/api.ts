import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* The cluster's nodes (platform admins), typed from the generated OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type BodyOf<T> = T extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

export type ClusterNode = Json<paths['/api/v1/nodes']['get']['responses'][200]>['nodes'][number];
export type NewNode = BodyOf<paths['/api/v1/nodes']['post']>;

/** How often the list is read again: a node going down shows within seconds. */
export const NODES_POLL_MS = 5_000;

export const nodeKeys = { all: ['nodes'] as const };

export const nodesQuery = () =>
  queryOptions({
    queryKey: nodeKeys.all,
    queryFn: async () => (await call(api.GET('/api/v1/nodes'))).nodes,
    refetchInterval: NODES_POLL_MS,
  });

export const addNode = (body: NewNode) => call(api.POST('/api/v1/nodes', { body }));

export const drainNode = (id: string) => call(api.POST('/api/v1/nodes/{id}/drain', { params: { path: { id } } }));

export const activateNode = (id: string) => call(api.POST('/api/v1/nodes/{id}/activate', { params: { path: { id } } }));

export const removeNode = (id: string) => call(api.DELETE('/api/v1/nodes/{id}', { params: { path: { id } } }));

/** A move a drain queued: the instance, its job, and the node placement chose for it. */
export type DrainMove = Json<paths['/api/v1/nodes/{id}/drain']['post']['responses'][200]>['moves'][number];

/**
 * The moves still going off a node (queued or running), as a drain answered them: read once when
 * the page opens, so a reload during a drain follows them again (and not kept once the page
 * closes: coming back reads them anew).
 */
export const nodeMovesQuery = (id: string) =>
  queryOptions({
    queryKey: ['node-moves', id] as const,
    queryFn: async () => (await call(api.GET('/api/v1/nodes/{id}/moves', { params: { path: { id } } }))).moves,
    staleTime: Number.POSITIVE_INFINITY,
    gcTime: 0,
  });

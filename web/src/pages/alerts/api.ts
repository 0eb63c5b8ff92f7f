import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* Alerts (issue #15): an organization's channels, rules and incidents, and an instance's uptime. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type BodyOf<T> = T extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

export type AlertChannel = Json<
  paths['/api/v1/organizations/{id}/alert-channels']['get']['responses'][200]
>['channels'][number];
export type ChannelInput = BodyOf<paths['/api/v1/organizations/{id}/alert-channels']['post']>;
export type ChannelKind = ChannelInput['kind'];
export type ChannelPatch = BodyOf<paths['/api/v1/organizations/{id}/alert-channels/{channelId}']['patch']>;
export type ChannelTest = Json<
  paths['/api/v1/organizations/{id}/alert-channels/{channelId}/test']['post']['responses'][200]
>;
export type AlertRule = Json<paths['/api/v1/organizations/{id}/alert-rules']['get']['responses'][200]>['rules'][number];
export type RuleInput = BodyOf<paths['/api/v1/organizations/{id}/alert-rules/{rule}']['put']>;
export type Uptime = Json<paths['/api/v1/instances/{id}/uptime']['get']['responses'][200]>;
export type UptimeDay = Uptime['days'][number];
/** An incident; one that is not an instance's (an organization's storage) has no instance. */
export type Incident = Uptime['incidents'][number];

export const alertKeys = {
  channels: (organizationId: string) => ['alert-channels', organizationId] as const,
  rules: (organizationId: string) => ['alert-rules', organizationId] as const,
  incidents: (organizationId: string) => ['incidents', organizationId] as const,
  uptime: (instanceId: string, month: string) => ['uptime', instanceId, month] as const,
};

const org = (id: string) => ({ params: { path: { id } } });
const channel = (id: string, channelId: string) => ({ params: { path: { id, channelId } } });

/** Incidents open and close with the checks (every minute or so): the list follows them. */
const INCIDENTS_REFRESH_MS = 30_000;

export const channelsQuery = (organizationId: string) =>
  queryOptions({
    queryKey: alertKeys.channels(organizationId),
    queryFn: async () =>
      (await call(api.GET('/api/v1/organizations/{id}/alert-channels', org(organizationId)))).channels,
  });

export const rulesQuery = (organizationId: string) =>
  queryOptions({
    queryKey: alertKeys.rules(organizationId),
    queryFn: async () => (await call(api.GET('/api/v1/organizations/{id}/alert-rules', org(organizationId)))).rules,
  });

export const incidentsQuery = (organizationId: string) =>
  queryOptions({
    queryKey: alertKeys.incidents(organizationId),
    queryFn: async () => (await call(api.GET('/api/v1/organizations/{id}/incidents', org(organizationId)))).incidents,
    refetchInterval: INCIDENTS_REFRESH_MS,
  });

export const uptimeQuery = (instanceId: string, month: string) =>
  queryOptions({
    queryKey: alertKeys.uptime(instanceId, month),
    queryFn: () =>
      call(api.GET('/api/v1/instances/{id}/uptime', { params: { path: { id: instanceId }, query: { range: month } } })),
    refetchInterval: 60_000,
  });

export const alertsApi = {
  addChannel: (organizationId: string, body: ChannelInput) =>
    call(api.POST('/api/v1/organizations/{id}/alert-channels', { ...org(organizationId), body })),
  updateChannel: (organizationId: string, channelId: string, body: ChannelPatch) =>
    call(
      api.PATCH('/api/v1/organizations/{id}/alert-channels/{channelId}', {
        ...channel(organizationId, channelId),
        body,
      }),
    ),
  removeChannel: (organizationId: string, channelId: string) =>
    call(api.DELETE('/api/v1/organizations/{id}/alert-channels/{channelId}', channel(organizationId, channelId))),
  testChannel: (organizationId: string, channelId: string) =>
    call(api.POST('/api/v1/organizations/{id}/alert-channels/{channelId}/test', channel(organizationId, channelId))),
  setRule: (organizationId: string, rule: string, body: RuleInput) =>
    call(
      api.PUT('/api/v1/organizations/{id}/alert-rules/{rule}', {
        params: { path: { id: organizationId, rule } },
        body,
      }),
    ),
};

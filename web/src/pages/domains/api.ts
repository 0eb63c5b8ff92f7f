import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* The Domains API (design #21, "Domains API"), typed from the generated OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type BodyOf<T> = T extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

export type InstanceDomains = Json<paths['/api/v1/instances/{id}/domains']['get']['responses'][200]>;
export type Domain = InstanceDomains['domains'][number];
export type DnsRecord = Domain['records'][number];
export type CertificateState = NonNullable<Domain['certificate']>;
export type DomainMethod = Domain['method'];
export type DomainStatus = Domain['status'];
export type Protection = Json<paths['/api/v1/instances/{id}/protection']['get']['responses'][200]>['protection'];
export type ProtectionInput = BodyOf<paths['/api/v1/instances/{id}/protection']['put']>;

export const domainKeys = {
  all: ['domains'] as const,
  ofInstance: (instanceId: string) => ['domains', instanceId] as const,
  protection: (instanceId: string) => ['protection', instanceId] as const,
};

/** How often a pending domain is asked about again: the server re-checks DNS on its own schedule. */
export const PENDING_REFETCH_MS = 3000;

const path = (id: string) => ({ params: { path: { id } } });

export const domainsQuery = (instanceId: string) =>
  queryOptions({
    queryKey: domainKeys.ofInstance(instanceId),
    queryFn: () => call(api.GET('/api/v1/instances/{id}/domains', path(instanceId))),
    // While a domain waits for its DNS records, its status is followed; verified or failed, it stops.
    refetchInterval: (query) =>
      query.state.data?.domains.some((d) => d.status === 'pending') ? PENDING_REFETCH_MS : false,
  });

export const protectionQuery = (instanceId: string) =>
  queryOptions({
    queryKey: domainKeys.protection(instanceId),
    queryFn: async () => (await call(api.GET('/api/v1/instances/{id}/protection', path(instanceId)))).protection,
  });

export const domainsApi = {
  add: (instanceId: string, body: { hostname: string; method?: DomainMethod }) =>
    call(api.POST('/api/v1/instances/{id}/domains', { ...path(instanceId), body })),
  verify: (id: string) => call(api.POST('/api/v1/domains/{id}/verify', path(id))),
  makePrimary: (id: string) => call(api.POST('/api/v1/domains/{id}/primary', path(id))),
  remove: (id: string) => call(api.DELETE('/api/v1/domains/{id}', path(id))),
  uploadCertificate: (id: string, body: { certificate: string; key: string }) =>
    call(api.PUT('/api/v1/domains/{id}/certificate', { ...path(id), body })),
  removeCertificate: (id: string) => call(api.DELETE('/api/v1/domains/{id}/certificate', path(id))),
  protect: (instanceId: string, body: ProtectionInput) =>
    call(api.PUT('/api/v1/instances/{id}/protection', { ...path(instanceId), body })),
};

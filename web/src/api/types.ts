import type { paths } from './schema';

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

export type Organization = Json<paths['/api/v1/organizations']['get']['responses'][200]>['organizations'][number];
export type Member = Json<paths['/api/v1/organizations/{id}/members']['get']['responses'][200]>['members'][number];
export type ApiToken = Json<paths['/api/v1/tokens']['get']['responses'][200]>['tokens'][number];
export type AuditEvent = Json<paths['/api/v1/audit']['get']['responses'][200]>['events'][number];
export type AuditQuery = NonNullable<paths['/api/v1/audit']['get']['parameters']['query']>;
export type Role = Member['role'];
export const roles: Role[] = ['owner', 'admin', 'member'];

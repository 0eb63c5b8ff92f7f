import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* The plans API, typed from the generated OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type BodyOf<T> = T extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

export type Plan = Json<paths['/api/v1/plans']['get']['responses'][200]>['plans'][number];
export type NewPlan = BodyOf<paths['/api/v1/plans']['post']>;
export type OrganizationUsage = Json<paths['/api/v1/organizations/{id}/usage']['get']['responses'][200]>;

export const planKeys = {
  plans: ['plans'] as const,
  usage: (organizationId: string) => ['organization-usage', organizationId] as const,
};

export const plansQuery = () =>
  queryOptions({
    queryKey: planKeys.plans,
    queryFn: async () => (await call(api.GET('/api/v1/plans'))).plans,
  });

export const usageQuery = (organizationId: string) =>
  queryOptions({
    queryKey: planKeys.usage(organizationId),
    queryFn: () => call(api.GET('/api/v1/organizations/{id}/usage', { params: { path: { id: organizationId } } })),
  });

/** Minor units as the currency writes them (1990 EUR → €19.90; JPY has no minor unit). */
export function formatPrice(amountMinor: number, currency: string): string {
  const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}

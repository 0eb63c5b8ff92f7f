import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';
import type { BadgeTone } from '../../components/Badge';

/* The operator's overview of customers and the lifecycle settings, typed from the OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

export type CustomersAnswer = Json<paths['/api/v1/admin/customers']['get']['responses'][200]>;
export type CustomerRow = CustomersAnswer['rows'][number];
export type CustomersTotals = CustomersAnswer['totals'];
export type CustomersQuery = NonNullable<paths['/api/v1/admin/customers']['get']['parameters']['query']>;
export type CustomerSort = NonNullable<CustomersQuery['sort']>;
export type StatusFilter = NonNullable<CustomersQuery['status']>;
export type LifecycleSettings = Json<paths['/api/v1/settings/lifecycle']['get']['responses'][200]>['lifecycle'];

export const customerKeys = {
  all: ['customers'] as const,
  list: (query: CustomersQuery) => [...customerKeys.all, 'list', query] as const,
  lifecycleSettings: ['settings', 'lifecycle'] as const,
};

export const PAGE_SIZE = 50;

export const customersQuery = (query: CustomersQuery) =>
  infiniteQueryOptions({
    queryKey: customerKeys.list(query),
    queryFn: ({ pageParam }) =>
      call(
        api.GET('/api/v1/admin/customers', {
          params: { query: pageParam ? { ...query, cursor: pageParam } : query },
        }),
      ),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });

export const lifecycleSettingsQuery = () =>
  queryOptions({
    queryKey: customerKeys.lifecycleSettings,
    queryFn: async () => (await call(api.GET('/api/v1/settings/lifecycle'))).lifecycle,
  });

/** The subscription states in the order a customer goes through them; `none` is an organization without a plan. */
export const statuses: { id: StatusFilter; label: string; tone: BadgeTone }[] = [
  { id: 'trialing', label: 'Trial', tone: 'blue' },
  { id: 'active', label: 'Active', tone: 'green' },
  { id: 'past_due', label: 'Past due', tone: 'amber' },
  { id: 'suspended', label: 'Suspended', tone: 'red' },
  { id: 'cancelled', label: 'Cancelled', tone: 'gray' },
  { id: 'none', label: 'No plan', tone: 'violet' },
];

export const statusLook = (status: string | null) =>
  statuses.find((s) => s.id === (status ?? 'none')) ?? { id: status ?? 'none', label: status ?? 'none', tone: 'gray' };

/** Minor units as the currency writes them (1990 EUR → €19.90; JPY has no minor unit). */
export function formatMoney(amountMinor: number, currency: string): string {
  const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}

/** The amount in the currency's main unit (euros, yen): what a chart of several currencies compares. */
export function majorUnits(amountMinor: number, currency: string): number {
  const digits = new Intl.NumberFormat(undefined, { style: 'currency', currency }).resolvedOptions()
    .maximumFractionDigits;
  return amountMinor / 10 ** (digits ?? 2);
}

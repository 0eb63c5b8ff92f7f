import { queryOptions } from '@tanstack/react-query';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';

/* Billing (issue #20): the owner's invoices and payments, and the platform admin's books, typed from the OpenAPI schema. */

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
type BodyOf<T> = T extends { requestBody?: { content: { 'application/json': infer Body } } } ? Body : never;

type OrgBilling = paths['/api/v1/organizations/{id}/billing'];
export type BillingView = Json<OrgBilling['get']['responses'][200]>;
export type Invoice = BillingView['invoices'][number];
export type BillingSubscription = NonNullable<BillingView['subscription']>;
export type BillingDetails = BillingView['details'];
export type DetailsInput = BodyOf<paths['/api/v1/organizations/{id}/billing/details']['put']>;
export type CheckoutInput = BodyOf<paths['/api/v1/organizations/{id}/billing/checkout']['post']>;
export type PayInput = BodyOf<paths['/api/v1/organizations/{id}/invoices/{invoiceId}/pay']['post']>;
export type PayAnswer = Json<paths['/api/v1/organizations/{id}/invoices/{invoiceId}/pay']['post']['responses'][201]>;
export type Payment = Json<paths['/api/v1/organizations/{id}/payments/{paymentId}']['get']['responses'][200]>;
export type PublicPlan = Json<paths['/api/v1/signup/plans']['get']['responses'][200]>['plans'][number];

export type Overview = Json<paths['/api/v1/billing/overview']['get']['responses'][200]>;
export type OpenInvoice = Overview['open'][number];
export type Anomaly = Overview['anomalies'][number];
export type BillingSettings = Json<paths['/api/v1/billing/settings']['get']['responses'][200]>['settings'];
export type TaxRate = Json<paths['/api/v1/billing/tax-rates']['get']['responses'][200]>['taxRates'][number];
export type Provider = Json<paths['/api/v1/billing/providers']['get']['responses'][200]>['providers'][number];
export type ProviderId = paths['/api/v1/billing/providers/{provider}']['put']['parameters']['path']['provider'];
export type ProviderInput = BodyOf<paths['/api/v1/billing/providers/{provider}']['put']>;

export const billingKeys = {
  view: (organizationId: string) => ['billing', organizationId] as const,
  payment: (paymentId: string) => ['billing-payment', paymentId] as const,
  plans: ['billing', 'public-plans'] as const,
  overview: ['billing-admin', 'overview'] as const,
  settings: ['billing-admin', 'settings'] as const,
  taxRates: ['billing-admin', 'tax-rates'] as const,
  providers: ['billing-admin', 'providers'] as const,
};

/** A payment is followed every 2 s while it is pending: a wallet prompt is answered within a minute or two. */
export const PAYMENT_POLL_MS = 2_000;
export const paymentDone = (status: string | undefined) => status !== undefined && status !== 'pending';

const org = (id: string) => ({ params: { path: { id } } });

export const billingQuery = (organizationId: string) =>
  queryOptions({
    queryKey: billingKeys.view(organizationId),
    queryFn: () => call(api.GET('/api/v1/organizations/{id}/billing', org(organizationId))),
  });

export const paymentQuery = (organizationId: string, paymentId: string) =>
  queryOptions({
    queryKey: billingKeys.payment(paymentId),
    queryFn: () =>
      call(
        api.GET('/api/v1/organizations/{id}/payments/{paymentId}', {
          params: { path: { id: organizationId, paymentId } },
        }),
      ),
    refetchInterval: (query) => (paymentDone(query.state.data?.status) ? false : PAYMENT_POLL_MS),
  });

/**
 * The plans an owner may pick: the public list sign-up offers (GET /plans is the platform admin's,
 * with private and archived plans); checkout refuses any other.
 */
export const publicPlansQuery = () =>
  queryOptions({
    queryKey: billingKeys.plans,
    queryFn: async () => (await call(api.GET('/api/v1/signup/plans'))).plans,
  });

export const pdfUrl = (organizationId: string, invoiceId: string) =>
  `/api/v1/organizations/${encodeURIComponent(organizationId)}/invoices/${encodeURIComponent(invoiceId)}/pdf`;

export const billingApi = {
  setDetails: (organizationId: string, body: DetailsInput) =>
    call(api.PUT('/api/v1/organizations/{id}/billing/details', { ...org(organizationId), body })),
  checkout: (organizationId: string, body: CheckoutInput) =>
    call(api.POST('/api/v1/organizations/{id}/billing/checkout', { ...org(organizationId), body })),
  pay: (organizationId: string, invoiceId: string, body: PayInput) =>
    call(
      api.POST('/api/v1/organizations/{id}/invoices/{invoiceId}/pay', {
        params: { path: { id: organizationId, invoiceId } },
        body,
      }),
    ),
  portal: (organizationId: string) => call(api.POST('/api/v1/organizations/{id}/billing/portal', org(organizationId))),
};

export const overviewQuery = () =>
  queryOptions({
    queryKey: billingKeys.overview,
    queryFn: () => call(api.GET('/api/v1/billing/overview')),
  });

export const settingsQuery = () =>
  queryOptions({
    queryKey: billingKeys.settings,
    queryFn: async () => (await call(api.GET('/api/v1/billing/settings'))).settings,
  });

export const taxRatesQuery = () =>
  queryOptions({
    queryKey: billingKeys.taxRates,
    queryFn: async () => (await call(api.GET('/api/v1/billing/tax-rates'))).taxRates,
  });

export const providersQuery = () =>
  queryOptions({
    queryKey: billingKeys.providers,
    queryFn: async () => (await call(api.GET('/api/v1/billing/providers'))).providers,
  });

const invoice = (id: string) => ({ params: { path: { id } } });

export const billingAdminApi = {
  markPaid: (invoiceId: string, body: { note: string; reference?: string }) =>
    call(api.POST('/api/v1/billing/invoices/{id}/mark-paid', { ...invoice(invoiceId), body })),
  credit: (invoiceId: string, body: { reason: string; amountMinor?: number }) =>
    call(api.POST('/api/v1/billing/invoices/{id}/credit', { ...invoice(invoiceId), body })),
  setSettings: (body: BillingSettings) => call(api.PUT('/api/v1/billing/settings', { body })),
  setTaxRate: (country: string, body: { name: string; rateBasisPoints: number }) =>
    call(api.PUT('/api/v1/billing/tax-rates/{country}', { params: { path: { country } }, body })),
  removeTaxRate: (country: string) =>
    call(api.DELETE('/api/v1/billing/tax-rates/{country}', { params: { path: { country } } })),
  setProvider: (provider: ProviderId, body: ProviderInput) =>
    call(api.PUT('/api/v1/billing/providers/{provider}', { params: { path: { provider } }, body })),
};

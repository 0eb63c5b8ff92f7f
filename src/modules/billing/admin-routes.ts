import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { DateTime, Nullable, responses, Uuid } from '../../platform/http/schemas.js';

const Party = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  addressLines: Type.Array(Type.String({ maxLength: 200 }), { maxItems: 6 }),
  country: Type.String({ pattern: '^[A-Z]{2}$' }),
  taxId: Nullable(Type.String({ maxLength: 64 })),
  email: Nullable(Type.String({ maxLength: 254 })),
});
const Settings = Type.Object(
  {
    seller: Party,
    dueDays: Type.Integer({ minimum: 0, maximum: 365, description: 'Days from issue to due date (default 14)' }),
    reminderDays: Type.Array(Type.Integer({ minimum: 1, maximum: 365 }), {
      maxItems: 10,
      description: 'Reminders, in days after the due date (default 1, 7, 14)',
    }),
    suspendAfterDays: Type.Integer({
      minimum: 1,
      maximum: 365,
      description: 'Days after the due date the organization is suspended; after the last reminder (default 21)',
    }),
    footer: Type.String({ maxLength: 2000, description: 'Printed on every invoice: terms, bank details' }),
    paymentTimeoutMinutes: Type.Integer({
      minimum: 5,
      maximum: 10080,
      description: 'A Paynow payment not settled by then is given up',
    }),
  },
  { title: 'BillingSettings', additionalProperties: false },
);
const TaxRate = Type.Object({ country: Type.String(), name: Type.String(), rateBasisPoints: Type.Integer() });
const Provider = Type.Object({
  id: Type.String(),
  configured: Type.Boolean(),
  enabled: Type.Boolean(),
  integrationId: Nullable(Type.String()),
  updatedAt: Nullable(DateTime),
});
const Country = Type.Object({ country: Type.String({ pattern: '^[A-Z]{2}$' }) });
const Invoice = Type.Object({
  id: Type.String(),
  number: Type.String(),
  status: Type.String(),
  totalMinor: Type.Integer(),
});
const asInvoice = (row: { id: string; number: string; status: string; total_minor: string }) => ({
  id: row.id,
  number: row.number,
  status: row.status,
  totalMinor: Number(row.total_minor),
});

/** The platform admin's billing: revenue, open invoices, manual payments, credit notes, settings. */
export const billingAdminRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  const { billingAdmin, billingProviders } = services;

  app.get(
    '/billing/overview',
    {
      schema: {
        tags: ['billing'],
        summary: 'MRR per month and currency, open and overdue invoices, payments that did not match (platform admins)',
        response: responses({
          200: Type.Object({
            mrr: Type.Array(Type.Object({ month: Type.String(), currency: Type.String(), mrrMinor: Type.Integer() })),
            open: Type.Array(
              Type.Object({
                id: Type.String(),
                number: Type.String(),
                organization: Type.Object({ slug: Type.String(), name: Type.String() }),
                currency: Type.String(),
                totalMinor: Type.Integer(),
                amountDueMinor: Type.Integer({ description: 'The total less credit notes: what Mark paid records' }),
                issuedAt: DateTime,
                dueAt: Nullable(DateTime),
                overdue: Type.Boolean(),
              }),
            ),
            anomalies: Type.Array(
              Type.Object({
                id: Type.String(),
                provider: Type.String(),
                kind: Type.String(),
                reference: Type.String(),
                invoiceId: Nullable(Type.String()),
                expected: Type.Unknown(),
                received: Type.Unknown(),
                at: DateTime,
              }),
            ),
          }),
        }),
      },
    },
    async (request) => billingAdmin.overview(contextOf(request).actor),
  );

  app.post(
    '/billing/invoices/:id/mark-paid',
    {
      schema: {
        tags: ['billing'],
        summary: 'Record an open invoice paid by bank transfer, with a note (platform admins; audited)',
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          {
            note: Type.String({ minLength: 1, maxLength: 500 }),
            reference: Type.Optional(Type.String({ maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ invoice: Invoice }) }),
      },
    },
    async (request) => ({
      invoice: asInvoice(await billingAdmin.markPaid(contextOf(request), request.params.id, request.body)),
    }),
  );

  app.post(
    '/billing/invoices/:id/credit',
    {
      schema: {
        tags: ['billing'],
        summary:
          'Issue a credit note against an invoice: everything still owed, or an amount before tax (platform admins)',
        params: Type.Object({ id: Uuid }),
        body: Type.Object(
          {
            reason: Type.String({ minLength: 1, maxLength: 200 }),
            amountMinor: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Type.Object({ creditNote: Invoice }) }),
      },
    },
    async (request, reply) =>
      reply.status(201).send({
        creditNote: asInvoice(await billingAdmin.credit(contextOf(request), request.params.id, request.body)),
      }),
  );

  app.get(
    '/billing/settings',
    {
      schema: {
        tags: ['billing'],
        summary: 'Seller details, due days, dunning (platform admins)',
        response: responses({ 200: Type.Object({ settings: Settings }) }),
      },
    },
    async (request) => ({ settings: await billingAdmin.settings(contextOf(request).actor) }),
  );
  app.put(
    '/billing/settings',
    {
      schema: {
        tags: ['billing'],
        summary: 'Change the seller details, due days and dunning (platform admins)',
        body: Settings,
        response: responses({ 200: Type.Object({ settings: Settings }) }),
      },
    },
    async (request) => ({ settings: await billingAdmin.setSettings(contextOf(request), request.body) }),
  );

  app.get(
    '/billing/tax-rates',
    {
      schema: {
        tags: ['billing'],
        summary: 'Tax rates per buyer country (platform admins)',
        response: responses({ 200: Type.Object({ taxRates: Type.Array(TaxRate) }) }),
      },
    },
    async (request) => ({ taxRates: await billingAdmin.taxRates(contextOf(request).actor) }),
  );
  app.put(
    '/billing/tax-rates/:country',
    {
      schema: {
        tags: ['billing'],
        summary: "Set a country's tax rate in basis points (1500 = 15 %) (platform admins)",
        params: Country,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 40 }),
            rateBasisPoints: Type.Integer({ minimum: 0, maximum: 10000 }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ taxRates: Type.Array(TaxRate) }) }),
      },
    },
    async (request) => ({
      taxRates: await billingAdmin.setTaxRate(contextOf(request), request.params.country, request.body),
    }),
  );
  app.delete(
    '/billing/tax-rates/:country',
    {
      schema: {
        tags: ['billing'],
        summary: "Remove a country's tax rate: taxed at 0 from then on (platform admins)",
        params: Country,
        response: responses({ 200: Type.Object({ taxRates: Type.Array(TaxRate) }) }),
      },
    },
    async (request) => ({ taxRates: await billingAdmin.setTaxRate(contextOf(request), request.params.country, null) }),
  );

  app.get(
    '/billing/providers',
    {
      schema: {
        tags: ['billing'],
        summary: 'Payment providers: set or not, on or off; never their secrets (platform admins)',
        response: responses({ 200: Type.Object({ providers: Type.Array(Provider) }) }),
      },
    },
    async (request) => ({ providers: await billingProviders.list(contextOf(request).actor) }),
  );
  app.put(
    '/billing/providers/:provider',
    {
      schema: {
        tags: ['billing'],
        summary: "Set a provider's credentials (sealed) or switch it: stripe, paynow:USD, paynow:ZWG (platform admins)",
        params: Type.Object({
          provider: Type.Union([Type.Literal('stripe'), Type.Literal('paynow:USD'), Type.Literal('paynow:ZWG')]),
        }),
        body: Type.Object(
          {
            enabled: Type.Optional(Type.Boolean()),
            secretKey: Type.Optional(Type.String({ maxLength: 300 })),
            webhookSecret: Type.Optional(Type.String({ maxLength: 300 })),
            integrationId: Type.Optional(Type.String({ maxLength: 20 })),
            integrationKey: Type.Optional(Type.String({ maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ provider: Provider }) }),
      },
    },
    async (request) => ({
      provider: await billingProviders.set(contextOf(request), request.params.provider, request.body),
    }),
  );
};

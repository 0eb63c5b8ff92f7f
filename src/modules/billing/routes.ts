import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../platform/http/auth.js';
import type { RouteOptions } from '../../platform/http/route-options.js';
import { DateTime, Nullable, responses, Uuid } from '../../platform/http/schemas.js';
import { billingAdminRoutes } from './admin-routes.js';

const Minor = (description: string) => Type.Integer({ description: `${description}, in minor units of the currency` });
export const InvoiceSchema = Type.Object(
  {
    id: Type.String(),
    number: Type.String({ description: 'INV-2027-000123, CN-2027-000004: gapless per kind and year' }),
    kind: Type.Union([Type.Literal('invoice'), Type.Literal('credit_note')]),
    reason: Type.String({ description: 'first (checkout), period, proration, correction' }),
    status: Type.String({ description: 'open, paid, credited (invoices); issued (credit notes)' }),
    currency: Type.String(),
    subtotalMinor: Minor('Before tax'),
    taxMinor: Minor('Tax'),
    totalMinor: Minor('Total'),
    amountDueMinor: Minor('Still owed: the total less credit notes; 0 once paid'),
    issuedAt: DateTime,
    dueAt: Nullable(DateTime),
    periodStart: Nullable(DateTime),
    periodEnd: Nullable(DateTime),
    paidAt: Nullable(DateTime),
    paidVia: Nullable(Type.String()),
    credits: Nullable(Type.String({ description: 'The invoice a credit note corrects' })),
    overdue: Type.Boolean(),
  },
  { title: 'Invoice' },
);
const Party = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    addressLines: Type.Array(Type.String({ maxLength: 200 }), { maxItems: 6 }),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }),
    taxId: Nullable(Type.String({ maxLength: 64 })),
    email: Nullable(Type.String({ maxLength: 254 })),
  },
  { title: 'BillingParty', additionalProperties: false },
);
const OrgParams = Type.Object({ id: Uuid });
const InvoiceParams = Type.Object({ id: Uuid, invoiceId: Uuid });

/** The customer's billing (owners), and the providers' webhooks (public, verified). */
export const billingRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, options) => {
  const { services } = options;
  const { billingAccount, billingPayments } = services;

  app.get(
    '/organizations/:id/billing',
    {
      schema: {
        tags: ['billing'],
        summary:
          "The organization's plan, billing details, the providers offered per currency, and its invoices (owners)",
        params: OrgParams,
        response: responses({
          200: Type.Object({
            subscription: Nullable(
              Type.Object({
                status: Type.String(),
                planId: Type.String(),
                plan: Type.String(),
                currency: Nullable(Type.String()),
                period: Nullable(Type.String()),
                currentPeriodEnd: Nullable(DateTime),
                trialEndsAt: Nullable(DateTime),
              }),
            ),
            details: Type.Object({
              name: Type.String(),
              addressLines: Type.Array(Type.String()),
              country: Type.String(),
              taxId: Nullable(Type.String()),
              email: Nullable(Type.String()),
              saved: Type.Boolean({ description: 'False: the invoice would carry the organization’s name only' }),
              hasStripeCustomer: Type.Boolean(),
            }),
            providers: Type.Record(Type.String(), Type.Array(Type.String()), {
              description: 'Currency → stripe, paynow',
            }),
            invoices: Type.Array(InvoiceSchema),
          }),
        }),
      },
    },
    async (request) => billingAccount.view(contextOf(request), request.params.id),
  );

  app.put(
    '/organizations/:id/billing/details',
    {
      schema: {
        tags: ['billing'],
        summary: 'Who the invoices are made out to: legal name, address, country (its tax rate), tax id, email',
        params: OrgParams,
        body: Party,
        response: responses({ 200: Type.Object({ details: Party }) }),
      },
    },
    async (request) => ({
      details: await billingAccount.setDetails(contextOf(request), request.params.id, request.body),
    }),
  );

  app.post(
    '/organizations/:id/billing/checkout',
    {
      schema: {
        tags: ['billing'],
        summary: 'A trial picks a paid plan: the plan changes (if it fits) and its first invoice is issued, to be paid',
        params: OrgParams,
        body: Type.Object(
          {
            planId: Uuid,
            currency: Type.String({ pattern: '^[A-Z]{3}$' }),
            period: Type.Union([Type.Literal('month'), Type.Literal('year')]),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Type.Object({ invoice: InvoiceSchema }) }),
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send({ invoice: await billingAccount.checkout(contextOf(request), request.params.id, request.body) }),
  );

  app.post(
    '/organizations/:id/invoices/:invoiceId/pay',
    {
      schema: {
        tags: ['billing'],
        summary:
          'Pay an open invoice: Stripe Checkout or Paynow web (a redirectUrl), or EcoCash/OneMoney (instructions; follow the payment)',
        params: InvoiceParams,
        body: Type.Object(
          {
            provider: Type.Union([Type.Literal('stripe'), Type.Literal('paynow')]),
            method: Type.Optional(Type.Union([Type.Literal('web'), Type.Literal('ecocash'), Type.Literal('onemoney')])),
            phone: Type.Optional(Type.String({ maxLength: 20 })),
          },
          { additionalProperties: false },
        ),
        response: responses({
          201: Type.Object({
            paymentId: Type.String(),
            redirectUrl: Nullable(Type.String()),
            instructions: Nullable(Type.String()),
          }),
        }),
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await billingPayments.pay(contextOf(request), request.params.id, request.params.invoiceId, request.body)),
  );

  app.get(
    '/organizations/:id/payments/:paymentId',
    {
      schema: {
        tags: ['billing'],
        summary: 'A payment attempt: pending, paid, cancelled, failed or timed_out',
        params: Type.Object({ id: Uuid, paymentId: Uuid }),
        response: responses({
          200: Type.Object({
            id: Type.String(),
            status: Type.String(),
            provider: Type.String(),
            method: Type.String(),
            error: Nullable(Type.String()),
            invoice: Type.Object({ number: Type.String(), status: Type.String() }),
          }),
        }),
      },
    },
    async (request) => billingPayments.status(contextOf(request), request.params.id, request.params.paymentId),
  );

  app.get(
    '/organizations/:id/invoices/:invoiceId/pdf',
    {
      schema: {
        tags: ['billing'],
        summary: 'The invoice or credit note as a PDF',
        params: InvoiceParams,
        produces: ['application/pdf'],
      },
    },
    async (request, reply) => {
      const { number, pdf } = await billingAccount.pdf(contextOf(request), request.params.id, request.params.invoiceId);
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `attachment; filename="${number}.pdf"`)
        .send(pdf);
    },
  );

  app.post(
    '/organizations/:id/billing/portal',
    {
      schema: {
        tags: ['billing'],
        summary: "A link to Stripe's customer portal (cards, receipts), for an organization that paid with Stripe",
        params: OrgParams,
        response: responses({ 200: Type.Object({ url: Type.String() }) }),
      },
    },
    async (request) => ({ url: await billingPayments.portal(contextOf(request), request.params.id) }),
  );

  // The providers' calls: no session, their own body formats (the raw bytes are what Stripe signed).
  await app.register(async (hooks) => {
    hooks.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    hooks.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    hooks.post(
      '/billing/webhooks/stripe',
      {
        config: { public: true },
        bodyLimit: 256 * 1024,
        schema: {
          tags: ['billing'],
          summary: "Stripe's webhook endpoint: verified on the raw body (Stripe-Signature), each event applied once",
          response: responses({ 200: Type.Object({ outcome: Type.String() }) }),
        },
      },
      async (request) =>
        services.billingWebhooks.stripe(
          request.body as Buffer,
          request.headers['stripe-signature'] as string | undefined,
        ),
    );
    hooks.post(
      '/billing/paynow/result/:paymentId',
      {
        config: { public: true },
        bodyLimit: 16 * 1024,
        schema: {
          tags: ['billing'],
          summary: "Paynow's result URL: the hash verified, then the status confirmed by polling Paynow",
          params: Type.Object({ paymentId: Type.String({ maxLength: 64 }) }),
          response: responses({ 200: Type.Object({ outcome: Type.String() }) }),
        },
      },
      async (request) =>
        services.billingWebhooks.paynow(
          (request.params as { paymentId: string }).paymentId,
          String(request.body ?? ''),
        ),
    );
  });

  await app.register(billingAdminRoutes, options);
};

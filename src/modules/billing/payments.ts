import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { PaymentsTable } from '../../db/schema-billing.js';
import { requireAccess } from '../../platform/access.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { invalid, isUuid } from '../../platform/validation.js';
import { configuredProviders, providersFor } from './account.js';
import { amountDue, buyerOf, type InvoiceRow } from './invoices.js';
import { billingUrl, type Ledger, type PaymentOutcome } from './ledger.js';
import type { PaynowStatus } from './paynow/client.js';
import { PaynowError } from './paynow/errors.js';
import type { BillingProviders } from './providers.js';
import { readBillingSettings } from './settings.js';

export type PaymentRow = Selectable<PaymentsTable>;

export interface PaymentsDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  ledger: Ledger;
  providers: BillingProviders;
  publicUrl: string;
}

export interface PayInput {
  provider?: unknown;
  /** Paynow: web (redirect), ecocash or onemoney (a prompt on the phone). */
  method?: unknown;
  phone?: unknown;
}

const FIRST_POLL_MS = 5_000;
const SLOW_POLL_MS = 60_000;
const FAST_POLLING_MS = 5 * 60_000;

const providerError = (error: unknown) =>
  new MarinaError('MARINA_E_PAYMENT_PROVIDER', error instanceof Error ? error.message : String(error));

/**
 * Paying an invoice through a provider: a payments row first (so a crash leaves a known attempt),
 * then the provider's call. Paynow payments are polled until they settle, are cancelled, fail or
 * time out, from the rows — a restart of Marina picks them up where they were.
 */
export class Payments {
  constructor(private readonly deps: PaymentsDeps) {}

  private async openInvoice(ctx: RequestContext, organizationId: string, invoiceId: string): Promise<InvoiceRow> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requireAccess(this.deps.db, ctx.actor, organizationId, 'owner');
    if (!isUuid(invoiceId)) throw notFound('Invoice');
    const invoice = await this.deps.db
      .selectFrom('invoices')
      .selectAll()
      .where('id', '=', invoiceId)
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    if (!invoice) throw notFound('Invoice');
    if (invoice.kind !== 'invoice' || invoice.status !== 'open')
      throw new MarinaError('MARINA_E_CONFLICT', `Invoice ${invoice.number} is ${invoice.status}: nothing to pay.`);
    return invoice;
  }

  async pay(ctx: RequestContext, organizationId: string, invoiceId: string, input: PayInput) {
    const invoice = await this.openInvoice(ctx, organizationId, invoiceId);
    const offered = providersFor(invoice.currency, await configuredProviders(this.deps.db));
    if (input.provider !== 'stripe' && input.provider !== 'paynow') throw invalid('provider', 'stripe or paynow.');
    if (!offered.includes(input.provider))
      throw invalid(
        'provider',
        `${input.provider} does not take ${invoice.currency} here; offered: ${offered.join(', ') || 'none'}.`,
      );
    const due = await amountDue(this.deps.db, invoice);
    if (due <= 0n) throw new MarinaError('MARINA_E_CONFLICT', `Invoice ${invoice.number} owes nothing.`);
    const organization = await this.deps.db
      .selectFrom('organizations')
      .select(['slug', 'name'])
      .where('id', '=', organizationId)
      .executeTakeFirstOrThrow();
    const back = billingUrl(this.deps.publicUrl, organization.slug);
    return input.provider === 'stripe'
      ? this.payWithStripe(invoice, due, organization, back)
      : this.payWithPaynow(invoice, due, input, back);
  }

  private async payWithStripe(
    invoice: InvoiceRow,
    due: bigint,
    organization: { slug: string; name: string },
    back: string,
  ) {
    const stripe = await this.deps.providers.stripe();
    if (!stripe) throw invalid('provider', 'Stripe is not set up.');
    const settings = await readBillingSettings(this.deps.db);
    const buyer = await buyerOf(this.deps.db, invoice.organization_id, settings.seller.country);
    const details = await this.deps.db
      .selectFrom('billing_details')
      .select('stripe_customer_id')
      .where('organization_id', '=', invoice.organization_id)
      .executeTakeFirst();
    try {
      const customerId = await stripe.gateway.ensureCustomer({
        existingId: details?.stripe_customer_id ?? null,
        organizationId: invoice.organization_id,
        name: buyer.name,
        email: buyer.email ?? '',
      });
      await this.rememberCustomer(invoice.organization_id, customerId, buyer);
      const common = {
        customerId,
        organizationId: invoice.organization_id,
        invoiceId: invoice.id,
        amountMinor: due,
        currency: invoice.currency,
        successUrl: `${back}?paid=${invoice.id}`,
        cancelUrl: back,
      };
      const plan = invoice.plan_id
        ? await this.deps.db.selectFrom('plans').select('name').where('id', '=', invoice.plan_id).executeTakeFirst()
        : undefined;
      // The first period's checkout starts a Stripe subscription that pays each period's invoice.
      const session =
        invoice.reason === 'first' && invoice.billing_period && plan
          ? await stripe.gateway.checkoutForSubscription({
              ...common,
              planName: plan.name,
              interval: invoice.billing_period,
            })
          : await stripe.gateway.checkoutForInvoice({
              ...common,
              invoiceNumber: invoice.number,
              description: `${organization.name}: ${invoice.number}`,
            });
      const payment = await this.insertPayment(invoice, due, {
        provider: 'stripe',
        method: 'card',
        reference: session.id,
      });
      return { paymentId: payment.id, redirectUrl: session.url, instructions: null };
    } catch (error) {
      if (error instanceof MarinaError) throw error;
      throw providerError(error);
    }
  }

  private async rememberCustomer(
    organizationId: string,
    customerId: string,
    buyer: { name: string; country: string; email: string | null },
  ) {
    const at = this.deps.clock.now();
    await this.deps.db
      .insertInto('billing_details')
      .values({
        organization_id: organizationId,
        legal_name: buyer.name,
        country: buyer.country,
        email: buyer.email,
        stripe_customer_id: customerId,
        updated_at: at,
      })
      .onConflict((oc) => oc.column('organization_id').doUpdateSet({ stripe_customer_id: customerId, updated_at: at }))
      .execute();
  }

  private async payWithPaynow(invoice: InvoiceRow, due: bigint, input: PayInput, back: string) {
    const client = await this.deps.providers.paynow(invoice.currency);
    if (!client) throw invalid('provider', `Paynow is not set up for ${invoice.currency}.`);
    const method = input.method ?? 'web';
    if (method !== 'web' && method !== 'ecocash' && method !== 'onemoney')
      throw invalid('method', 'web, ecocash or onemoney.');
    if (method !== 'web' && (typeof input.phone !== 'string' || !/^\+?[\d\s-]{9,16}$/.test(input.phone)))
      throw invalid('phone', 'The EcoCash or OneMoney number, such as 0771234567.');
    const settings = await readBillingSettings(this.deps.db);
    const buyer = await buyerOf(this.deps.db, invoice.organization_id, settings.seller.country);
    const reference = `${invoice.number}-${randomBytes(4).toString('hex')}`;
    const payment = await this.insertPayment(invoice, due, { provider: 'paynow', method, reference });
    const resultUrl = `${this.deps.publicUrl.replace(/\/$/, '')}/api/v1/billing/paynow/result/${payment.id}`;
    const request = {
      reference,
      amountMinor: due,
      additionalInfo: `Invoice ${invoice.number}`,
      returnUrl: `${back}?payment=${payment.id}`,
      resultUrl,
      ...(buyer.email ? { authEmail: buyer.email } : {}),
    };
    try {
      if (method === 'web') {
        const checkout = await client.initiate(request);
        await this.polling(payment.id, checkout.pollUrl, null, FAST_POLLING_MS);
        return { paymentId: payment.id, redirectUrl: checkout.browserUrl, instructions: null };
      }
      if (!buyer.email)
        throw invalid(
          'details.email',
          'Paynow needs the payer’s email for a mobile payment: add it to the billing details.',
        );
      const checkout = await client.initiateMobile({
        ...request,
        authEmail: buyer.email,
        phone: input.phone as string,
        method,
      });
      await this.polling(payment.id, checkout.pollUrl, checkout.paynowReference, FIRST_POLL_MS);
      return { paymentId: payment.id, redirectUrl: null, instructions: checkout.instructions };
    } catch (error) {
      await this.deps.db
        .updateTable('payments')
        .set({
          status: 'failed',
          error: error instanceof Error ? error.message.slice(0, 500) : 'failed',
          updated_at: this.deps.clock.now(),
        })
        .where('id', '=', payment.id)
        .execute();
      if (error instanceof MarinaError) throw error;
      throw providerError(error);
    }
  }

  private async polling(paymentId: string, pollUrl: string, providerReference: string | null, firstPollMs: number) {
    const now = this.deps.clock.now();
    await this.deps.db
      .updateTable('payments')
      .set({
        poll_url: pollUrl,
        provider_reference: providerReference,
        next_poll_at: new Date(now.getTime() + firstPollMs),
        updated_at: now,
      })
      .where('id', '=', paymentId)
      .execute();
  }

  private async insertPayment(
    invoice: InvoiceRow,
    due: bigint,
    what: { provider: 'stripe' | 'paynow'; method: string; reference: string },
  ) {
    const now = this.deps.clock.now();
    const settings = await readBillingSettings(this.deps.db);
    return this.deps.db
      .insertInto('payments')
      .values({
        invoice_id: invoice.id,
        organization_id: invoice.organization_id,
        provider: what.provider,
        method: what.method,
        reference: what.reference,
        amount_minor: due,
        currency: invoice.currency,
        status: 'pending',
        expires_at: new Date(now.getTime() + settings.paymentTimeoutMinutes * 60_000),
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Stripe's customer portal for the organization's saved cards and receipts. */
  async portal(ctx: RequestContext, organizationId: string): Promise<string> {
    if (!isUuid(organizationId)) throw notFound('Organization');
    await requireAccess(this.deps.db, ctx.actor, organizationId, 'owner');
    const stripe = await this.deps.providers.stripe();
    const details = await this.deps.db
      .selectFrom('billing_details')
      .select('stripe_customer_id')
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    if (!stripe || !details?.stripe_customer_id)
      throw new MarinaError(
        'MARINA_E_CONFLICT',
        'The organization has not paid with Stripe: there is no Stripe portal for it.',
      );
    const organization = await this.deps.db
      .selectFrom('organizations')
      .select('slug')
      .where('id', '=', organizationId)
      .executeTakeFirstOrThrow();
    try {
      return await stripe.gateway.portalLink({
        customerId: details.stripe_customer_id,
        returnUrl: billingUrl(this.deps.publicUrl, organization.slug),
      });
    } catch (error) {
      throw providerError(error);
    }
  }

  /** A payment as its owner follows it (the EcoCash prompt's page polls this). */
  async status(ctx: RequestContext, organizationId: string, paymentId: string) {
    if (!isUuid(organizationId) || !isUuid(paymentId)) throw notFound('Payment');
    await requireAccess(this.deps.db, ctx.actor, organizationId, 'owner');
    const payment = await this.deps.db
      .selectFrom('payments')
      .innerJoin('invoices', 'invoices.id', 'payments.invoice_id')
      .select([
        'payments.id',
        'payments.status',
        'payments.provider',
        'payments.method',
        'payments.error',
        'invoices.number',
        'invoices.status as invoice_status',
      ])
      .where('payments.id', '=', paymentId)
      .where('payments.organization_id', '=', organizationId)
      .executeTakeFirst();
    if (!payment) throw notFound('Payment');
    return {
      id: payment.id,
      status: payment.status,
      provider: payment.provider,
      method: payment.method,
      error: payment.error,
      invoice: { number: payment.number, status: payment.invoice_status },
    };
  }

  /**
   * Settles a Paynow payment from what Paynow said (a poll, or a callback confirmed by a poll), in
   * one transaction: the payment, the invoice, the subscription.
   */
  async settle(paymentId: string, status: PaynowStatus): Promise<PaymentOutcome | null> {
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.transaction().execute(async (trx) => {
      const payment = await trx
        .selectFrom('payments')
        .selectAll()
        .where('id', '=', paymentId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (payment.status !== 'pending') return null;
      if (status.status === 'pending') return null;
      if (status.status !== 'paid') {
        await trx
          .updateTable('payments')
          .set({ status: status.status, error: status.rawStatus, next_poll_at: null, settled_at: now, updated_at: now })
          .where('id', '=', payment.id)
          .execute();
        return null;
      }
      const result = await this.deps.ledger.applyPayment(trx, {
        invoiceId: payment.invoice_id,
        provider: 'paynow',
        reference: payment.reference,
        amountMinor: status.amountMinor,
        currency: payment.currency,
        at: now,
        paymentId: payment.id,
      });
      if (result.kind !== 'applied')
        await trx
          .updateTable('payments')
          .set({
            status: 'failed',
            error: result.kind === 'duplicate' ? 'the invoice was paid another way' : result.message,
            next_poll_at: null,
            updated_at: now,
          })
          .where('id', '=', payment.id)
          .execute();
      return result;
    });
    if (outcome) await this.deps.ledger.after(outcome);
    return outcome;
  }

  /** Polls the Paynow payments whose turn has come; a payment past its deadline is timed out. */
  async pollDue(now: Date = this.deps.clock.now()): Promise<number> {
    const due = await this.deps.db
      .selectFrom('payments')
      .selectAll()
      .where('status', '=', 'pending')
      .where('provider', '=', 'paynow')
      .where('next_poll_at', '<=', now)
      .orderBy('next_poll_at')
      .limit(50)
      .execute();
    for (const payment of due) {
      if (payment.expires_at && payment.expires_at <= now) {
        await this.deps.db
          .updateTable('payments')
          .set({ status: 'timed_out', next_poll_at: null, updated_at: now })
          .where('id', '=', payment.id)
          .where('status', '=', 'pending')
          .execute();
        continue;
      }
      try {
        const client = await this.deps.providers.paynow(payment.currency);
        if (!client || !payment.poll_url) throw new Error('Paynow is not set up for this payment any more');
        const status = await client.poll(payment.poll_url);
        if (status.reference !== payment.reference)
          throw new PaynowError('malformed', 'the poll answered another reference');
        await this.settle(payment.id, status);
      } catch (error) {
        this.deps.logger.warn(
          { err: error, payment: payment.id },
          'billing: polling Paynow failed; polled again later',
        );
        await this.deps.db
          .updateTable('payments')
          .set({ error: error instanceof Error ? error.message.slice(0, 500) : 'poll failed' })
          .where('id', '=', payment.id)
          .execute();
      }
      const young = now.getTime() - payment.created_at.getTime() < FAST_POLLING_MS;
      await this.deps.db
        .updateTable('payments')
        .set({ next_poll_at: new Date(now.getTime() + (young ? FIRST_POLL_MS : SLOW_POLL_MS)), updated_at: now })
        .where('id', '=', payment.id)
        .where('status', '=', 'pending')
        .execute();
    }
    return due.length;
  }
}

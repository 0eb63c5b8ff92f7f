import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { isUuid } from '../../platform/validation.js';
import type { BillingCycle } from './cycle.js';
import { amountDue } from './invoices.js';
import { type Ledger, type PaymentOutcome, recordAnomaly } from './ledger.js';
import type { Payments } from './payments.js';
import { PaynowError } from './paynow/errors.js';
import type { BillingProviders } from './providers.js';
import { StripeWebhookError } from './stripe/errors.js';
import { type CheckoutPaid, type RenewalPaid, summarizeEvent } from './stripe/events.js';

export interface BillingWebhooksDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  ledger: Ledger;
  cycle: BillingCycle;
  payments: Payments;
  providers: BillingProviders;
}

const refused = (why: string) => new MarinaError('MARINA_E_WEBHOOK_REFUSED', why);

/**
 * What providers tell Marina on their own: Stripe's signed webhooks and Paynow's result callbacks.
 * Nothing is believed before its signature (Stripe) or hash (Paynow) is checked; each Stripe event is
 * applied once (its id stored with its effects, in one transaction); a Paynow callback is only a
 * prompt to ask Paynow itself, at the poll address Marina stored, for the payment's status.
 */
export class BillingWebhooks {
  constructor(private readonly deps: BillingWebhooksDeps) {}

  async stripe(rawBody: Buffer, signature: string | undefined): Promise<{ outcome: string }> {
    const stripe = await this.deps.providers.stripe();
    if (!stripe) throw notFound('Stripe webhook');
    let event: ReturnType<typeof stripe.gateway.verifyWebhook>;
    try {
      event = stripe.gateway.verifyWebhook(
        rawBody,
        signature,
        stripe.webhookSecret,
        300,
        this.deps.clock.now().getTime(),
      );
    } catch (error) {
      if (error instanceof StripeWebhookError) throw refused(error.message);
      throw error;
    }
    const summary = summarizeEvent(event);
    // Before the event's transaction: a renewal may pay the period invoice that is due now.
    if (summary.kind === 'renewal_paid' && summary.billingReason !== 'subscription_create')
      await this.deps.cycle.renew(this.deps.clock.now());
    let after: PaymentOutcome | null = null;
    const outcome = await this.deps.db.transaction().execute(async (trx) => {
      const fresh = await trx
        .insertInto('provider_events')
        .values({
          provider: 'stripe',
          event_id: event.id,
          type: event.type,
          outcome: 'received',
          received_at: this.deps.clock.now(),
        })
        .onConflict((oc) => oc.columns(['provider', 'event_id']).doNothing())
        .returning('event_id')
        .executeTakeFirst();
      if (!fresh) return 'duplicate';
      let result: string;
      if (summary.kind === 'checkout_paid') {
        const applied = await this.checkoutPaid(trx, summary);
        after = applied.outcome;
        result = applied.word;
      } else if (summary.kind === 'renewal_paid') {
        const applied = await this.renewalPaid(trx, summary);
        after = applied.outcome;
        result = applied.word;
      } else if (summary.kind === 'checkout_failed') {
        await trx
          .updateTable('payments')
          .set({
            status: summary.reason === 'expired' ? 'cancelled' : 'failed',
            error: summary.reason,
            updated_at: this.deps.clock.now(),
          })
          .where('provider', '=', 'stripe')
          .where('reference', '=', summary.sessionId)
          .where('status', '=', 'pending')
          .execute();
        result = summary.reason;
      } else {
        result = 'ignored';
      }
      await trx
        .updateTable('provider_events')
        .set({ outcome: result })
        .where('provider', '=', 'stripe')
        .where('event_id', '=', event.id)
        .execute();
      return result;
    });
    if (after) await this.deps.ledger.after(after);
    return { outcome };
  }

  private async checkoutPaid(trx: Db, event: CheckoutPaid): Promise<{ word: string; outcome: PaymentOutcome | null }> {
    const at = this.deps.clock.now();
    const payment = await trx
      .selectFrom('payments')
      .selectAll()
      .where('provider', '=', 'stripe')
      .where('reference', '=', event.sessionId)
      .executeTakeFirst();
    if (!payment || payment.invoice_id !== event.invoiceId || payment.organization_id !== event.organizationId) {
      await recordAnomaly(trx, {
        provider: 'stripe',
        kind: 'unknown_reference',
        reference: event.sessionId,
        received: {
          invoiceId: event.invoiceId,
          organizationId: event.organizationId,
          amountMinor: String(event.amountMinor),
          currency: event.currency,
        },
        at,
      });
      return { word: 'unknown_reference', outcome: null };
    }
    if (event.customerId || event.subscriptionId)
      await trx
        .updateTable('billing_details')
        .set({
          ...(event.customerId ? { stripe_customer_id: event.customerId } : {}),
          ...(event.subscriptionId ? { stripe_subscription_id: event.subscriptionId } : {}),
          updated_at: at,
        })
        .where('organization_id', '=', payment.organization_id)
        .execute();
    const outcome = await this.deps.ledger.applyPayment(trx, {
      invoiceId: payment.invoice_id,
      provider: 'stripe',
      reference: event.sessionId,
      amountMinor: event.amountMinor,
      currency: event.currency,
      at,
      paymentId: payment.id,
    });
    if (outcome.kind === 'refused')
      await trx
        .updateTable('payments')
        .set({ status: 'failed', error: outcome.message, updated_at: at })
        .where('id', '=', payment.id)
        .execute();
    return { word: outcome.kind === 'refused' ? outcome.anomaly : outcome.kind, outcome };
  }

  /**
   * A period paid by the Stripe subscription: it settles the organization's oldest open invoice of
   * exactly that amount and currency. The first period is the checkout's (settled by its session),
   * so a `subscription_create` invoice changes nothing, whichever of the two events comes first.
   */
  private async renewalPaid(trx: Db, event: RenewalPaid): Promise<{ word: string; outcome: PaymentOutcome | null }> {
    if (event.billingReason === 'subscription_create') return { word: 'first_period', outcome: null };
    const at = this.deps.clock.now();
    const details = await trx
      .selectFrom('billing_details')
      .select('organization_id')
      .where('stripe_subscription_id', '=', event.subscriptionId)
      .executeTakeFirst();
    const received = {
      amountMinor: String(event.amountMinor),
      currency: event.currency,
      subscription: event.subscriptionId,
    };
    if (!details || details.organization_id !== event.organizationId) {
      await recordAnomaly(trx, {
        provider: 'stripe',
        kind: 'unknown_reference',
        reference: event.stripeInvoiceId,
        received,
        at,
      });
      return { word: 'unknown_reference', outcome: null };
    }
    const open = await trx
      .selectFrom('invoices')
      .selectAll()
      .where('organization_id', '=', details.organization_id)
      .where('kind', '=', 'invoice')
      .where('status', '=', 'open')
      .orderBy('issued_at')
      .execute();
    for (const invoice of open) {
      if (invoice.currency !== event.currency || (await amountDue(trx, invoice)) !== event.amountMinor) continue;
      const outcome = await this.deps.ledger.applyPayment(trx, {
        invoiceId: invoice.id,
        provider: 'stripe',
        reference: event.stripeInvoiceId,
        amountMinor: event.amountMinor,
        currency: event.currency,
        at,
      });
      return { word: outcome.kind, outcome };
    }
    await recordAnomaly(trx, {
      provider: 'stripe',
      kind: 'amount_mismatch',
      reference: event.stripeInvoiceId,
      organizationId: details.organization_id,
      expected: { open: open.map((i) => i.number) },
      received,
      at,
    });
    return { word: 'amount_mismatch', outcome: null };
  }

  /** Paynow's result URL: verified with the payment's integration key, then confirmed by a poll. */
  async paynow(paymentId: string, rawBody: string): Promise<{ outcome: string }> {
    const at = this.deps.clock.now();
    const payment = isUuid(paymentId)
      ? await this.deps.db
          .selectFrom('payments')
          .selectAll()
          .where('id', '=', paymentId)
          .where('provider', '=', 'paynow')
          .executeTakeFirst()
      : undefined;
    if (!payment) {
      await this.deps.db.transaction().execute((trx) =>
        recordAnomaly(trx, {
          provider: 'paynow',
          kind: 'unknown_reference',
          reference: paymentId.slice(0, 100),
          received: { body: rawBody.slice(0, 1000) },
          at,
        }),
      );
      throw notFound('Payment');
    }
    const client = await this.deps.providers.paynow(payment.currency);
    if (!client || !payment.poll_url) throw refused('Paynow is not set up for this payment.');
    let told: ReturnType<typeof client.parseResult>;
    try {
      told = client.parseResult(rawBody);
    } catch (error) {
      if (error instanceof PaynowError) throw refused(`The callback does not verify: ${error.message}`);
      throw error;
    }
    if (told.reference !== payment.reference) {
      await this.deps.db.transaction().execute((trx) =>
        recordAnomaly(trx, {
          provider: 'paynow',
          kind: 'unknown_reference',
          reference: told.reference,
          invoiceId: payment.invoice_id,
          received: { reference: told.reference, paymentId },
          at,
        }),
      );
      throw refused('The callback is about another payment.');
    }
    if (payment.status !== 'pending') return { outcome: 'duplicate' };
    if (told.status === 'pending') return { outcome: 'pending' };
    // Asked again at the address Marina stored: the callback's own word is never the whole truth.
    const status = await client.poll(payment.poll_url).catch((error: unknown) => {
      this.deps.logger.warn(
        { err: error, payment: payment.id },
        'billing: the Paynow poll after a callback failed; the poller tries again',
      );
      return undefined;
    });
    if (!status || status.reference !== payment.reference) return { outcome: 'pending' };
    const outcome = await this.deps.payments.settle(payment.id, status);
    return { outcome: outcome ? (outcome.kind === 'refused' ? outcome.anomaly : outcome.kind) : status.status };
  }
}

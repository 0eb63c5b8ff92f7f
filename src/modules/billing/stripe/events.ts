/**
 * A verified Stripe event reduced to the one fact Marina applies (a checkout paid or failed, a
 * renewal paid) or to "ignored". Pure: no Stripe call, no database; the caller stores the event id
 * (replays are ignored) and checks the amount and currency against its own invoice, never trusting
 * them from here alone.
 */
import type Stripe from 'stripe';

interface EventFacts {
  eventId: string;
  /** When Stripe created the event (Unix seconds): orders out-of-order deliveries. */
  created: number;
}

export interface CheckoutPaid extends EventFacts {
  kind: 'checkout_paid';
  sessionId: string;
  invoiceId: string;
  organizationId: string;
  customerId: string | null;
  /** Set for a subscription checkout: Marina stores it to recognise the renewals. */
  subscriptionId: string | null;
  amountMinor: bigint;
  currency: string;
}

export interface CheckoutFailed extends EventFacts {
  kind: 'checkout_failed';
  sessionId: string;
  invoiceId: string;
  organizationId: string;
  customerId: string | null;
  /** A delayed payment method (a bank debit) failed, or the session expired unpaid. */
  reason: 'payment_failed' | 'expired';
}

export interface RenewalPaid extends EventFacts {
  kind: 'renewal_paid';
  stripeInvoiceId: string;
  subscriptionId: string;
  organizationId: string;
  customerId: string | null;
  amountMinor: bigint;
  currency: string;
  /** Stripe's reason for the invoice: `subscription_cycle` for a period renewal, `subscription_update`… */
  billingReason: string | null;
  /** The service period of the invoice's first line (Unix seconds), when Stripe sent it. */
  periodStart: number | null;
  periodEnd: number | null;
}

export interface IgnoredEvent {
  kind: 'ignored';
  eventId: string;
  type: string;
  /** Why an event of a handled type changes nothing (for the log); null for a type Marina never handles. */
  reason: string | null;
}

export type StripeEventSummary = CheckoutPaid | CheckoutFailed | RenewalPaid | IgnoredEvent;

/** The id of an expandable field, whether Stripe sent the id or the object. */
export function idOf(value: string | { id: string } | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : value.id;
}

const ignored = (event: Stripe.Event, reason: string | null): IgnoredEvent => ({
  kind: 'ignored',
  eventId: event.id,
  type: event.type,
  reason,
});

/** Stripe sends amounts as JSON integers; anything else is not an amount. */
function minorUnits(value: number | null | undefined): bigint | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : null;
}

/** Marina's ids on a session it created; null for a session made elsewhere (a dashboard payment link). */
function marinaIds(session: Stripe.Checkout.Session): { invoiceId: string; organizationId: string } | null {
  const invoiceId = session.metadata?.invoice_id ?? session.client_reference_id;
  const organizationId = session.metadata?.organization_id;
  if (!invoiceId || !organizationId) return null;
  // Marina sets both to the same id: a session where they differ was made, or altered, outside Marina.
  if (session.client_reference_id && session.client_reference_id !== invoiceId) return null;
  return { invoiceId, organizationId };
}

function checkoutPaid(event: Stripe.Event, session: Stripe.Checkout.Session): StripeEventSummary {
  const ids = marinaIds(session);
  if (!ids) return ignored(event, 'not a Marina checkout (no organization or invoice id)');
  const amountMinor = minorUnits(session.amount_total);
  if (amountMinor === null || !session.currency) return ignored(event, 'the session has no amount or currency');
  return {
    kind: 'checkout_paid',
    eventId: event.id,
    created: event.created,
    sessionId: session.id,
    ...ids,
    customerId: idOf(session.customer),
    subscriptionId: idOf(session.subscription),
    amountMinor,
    currency: session.currency.toUpperCase(),
  };
}

function checkoutFailed(
  event: Stripe.Event,
  session: Stripe.Checkout.Session,
  reason: CheckoutFailed['reason'],
): StripeEventSummary {
  const ids = marinaIds(session);
  if (!ids) return ignored(event, 'not a Marina checkout (no organization or invoice id)');
  return {
    kind: 'checkout_failed',
    eventId: event.id,
    created: event.created,
    sessionId: session.id,
    ...ids,
    customerId: idOf(session.customer),
    reason,
  };
}

function renewalPaid(event: Stripe.Event, invoice: Stripe.Invoice): StripeEventSummary {
  // Since API 2025-03-31 ("basil") the subscription is on the invoice's parent, not on the invoice.
  const details = invoice.parent?.subscription_details;
  const subscriptionId = idOf(details?.subscription);
  if (!subscriptionId) return ignored(event, 'not a subscription invoice');
  // The first invoice of a subscription is paid through its Checkout Session, whose
  // checkout.session.completed carries Marina's invoice id: counting this one too would pay twice.
  if (invoice.billing_reason === 'subscription_create')
    return ignored(event, "the subscription's first invoice (settled by its checkout)");
  const organizationId = details?.metadata?.organization_id;
  if (!organizationId) return ignored(event, 'not a Marina subscription (no organization id)');
  const amountMinor = minorUnits(invoice.amount_paid);
  if (amountMinor === null || !invoice.currency) return ignored(event, 'the invoice has no amount or currency');
  if (typeof invoice.id !== 'string') return ignored(event, 'the invoice has no id');
  const period = invoice.lines?.data?.[0]?.period;
  return {
    kind: 'renewal_paid',
    eventId: event.id,
    created: event.created,
    stripeInvoiceId: invoice.id,
    subscriptionId,
    organizationId,
    customerId: idOf(invoice.customer),
    amountMinor,
    currency: invoice.currency.toUpperCase(),
    billingReason: invoice.billing_reason ?? null,
    periodStart: period?.start ?? null,
    periodEnd: period?.end ?? null,
  };
}

export function summarizeEvent(event: Stripe.Event): StripeEventSummary {
  switch (event.type) {
    case 'checkout.session.completed': {
      const session = event.data.object;
      // "unpaid" here is a delayed method (a bank debit) still under way: its
      // async_payment_succeeded or _failed follows. "no_payment_required" paid nothing.
      if (session.payment_status !== 'paid') return ignored(event, `payment status ${session.payment_status}`);
      return checkoutPaid(event, session);
    }
    case 'checkout.session.async_payment_succeeded':
      return checkoutPaid(event, event.data.object);
    case 'checkout.session.async_payment_failed':
      return checkoutFailed(event, event.data.object, 'payment_failed');
    case 'checkout.session.expired':
      return checkoutFailed(event, event.data.object, 'expired');
    case 'invoice.paid':
      return renewalPaid(event, event.data.object);
    default:
      return ignored(event, null);
  }
}

/**
 * Marina's side of Stripe, over the official SDK. Marina is the billing authority: it issues its own
 * invoices and Stripe only collects their payment, so everything sent carries Marina's ids
 * (organization, invoice) as metadata, and what comes back (webhooks) is read by summarizeEvent
 * (events.ts) into the few facts Marina applies.
 */
import type Stripe from 'stripe';
import { lazyImport } from '../../../platform/lazy.js';
import { gatewayErrorOf, StripeGatewayError, StripeWebhookError } from './errors.js';
import { idOf } from './events.js';

export interface StripeApiEndpoint {
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

export interface StripeClientOptions {
  secretKey: string;
  /** Where the API is: the stand-in in tests; api.stripe.com when omitted. */
  api?: StripeApiEndpoint;
  /** Per-request timeout; 15 s by default (the SDK's own default, 80 s, would hold a page that long). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/** The SDK (tens of MB once loaded) is loaded when Stripe is first configured and used. */
const loadStripe = lazyImport(async () => (await import('stripe')).default);

/** The SDK's webhook checks and error classes: the SDK's own, or a client's (the same objects). */
type StripeSdk = Pick<Stripe, 'webhooks' | 'errors'>;

export async function createStripeClient(options: StripeClientOptions): Promise<Stripe> {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeout) || timeout <= 0)
    throw new RangeError('The Stripe timeout must be a positive integer.');
  // No automatic retries: a retried POST could create a second Checkout Session behind Marina's
  // back, and the caller (a page, a job) decides itself whether to try again.
  const Sdk = await loadStripe();
  return new Sdk(options.secretKey, {
    maxNetworkRetries: 0,
    timeout,
    appInfo: { name: 'Marina' },
    ...options.api,
  });
}

export interface CheckoutLink {
  id: string;
  url: string;
}

interface CheckoutCommon {
  customerId: string;
  organizationId: string;
  /** Marina's invoice this payment settles. */
  invoiceId: string;
  amountMinor: bigint;
  /** ISO 4217, upper case as Marina keeps it. */
  currency: string;
  successUrl: string;
  cancelUrl: string;
}

export interface InvoiceCheckout extends CheckoutCommon {
  invoiceNumber: string;
  description: string;
}

export interface SubscriptionCheckout extends CheckoutCommon {
  planName: string;
  interval: 'month' | 'year';
}

/** A Checkout Session as Marina needs it when it asks (the success page, reconciling after a restart). */
export interface CheckoutState {
  id: string;
  /** open, complete or expired (Stripe's types leave room for more). */
  status: Stripe.Checkout.Session.Status | null;
  /** paid, unpaid or no_payment_required. */
  paymentStatus: Stripe.Checkout.Session.PaymentStatus;
  amountMinor: bigint | null;
  currency: string | null;
  invoiceId: string | null;
  organizationId: string | null;
  customerId: string | null;
  subscriptionId: string | null;
}

/** Stripe's unit_amount is a JSON number: refuse what a number cannot hold exactly. */
function unitAmount(amountMinor: bigint): number {
  if (typeof amountMinor !== 'bigint') throw new TypeError('amountMinor must be a bigint.');
  if (amountMinor <= 0n) throw new RangeError('A Stripe payment must be of a positive amount.');
  if (amountMinor > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('The amount is too large for Stripe.');
  return Number(amountMinor);
}

function stripeCurrency(currency: string): string {
  if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError(`"${currency}" is not an ISO 4217 currency code.`);
  return currency.toLowerCase();
}

function required(value: string, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new RangeError(`${what} must not be empty.`);
  return value;
}

export class StripeGateway {
  readonly #stripe: Stripe;
  readonly #timeoutMs: number;

  constructor(stripe: Stripe) {
    this.#stripe = stripe;
    // Only for the timeout error's message; the SDK enforces the timeout itself.
    const configured: unknown = stripe.getApiField('timeout');
    this.#timeoutMs = typeof configured === 'number' ? configured : DEFAULT_TIMEOUT_MS;
  }

  /**
   * Runs one SDK call; every failure leaves as a StripeGatewayError. Marina's own argument checks
   * run before it, so that a bad argument stays a RangeError and is not reported as Stripe's fault.
   */
  async #call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw gatewayErrorOf(error, action, this.#timeoutMs, this.#stripe.errors);
    }
  }

  /** The organization's Stripe customer: the stored one, or a new one tagged with the organization. */
  async ensureCustomer(input: {
    existingId?: string | null;
    organizationId: string;
    name: string;
    email: string;
  }): Promise<string> {
    if (input.existingId) return input.existingId;
    const metadata = { organization_id: required(input.organizationId, 'The organization id') };
    const customer = await this.#call('creating the customer', () =>
      this.#stripe.customers.create({ name: input.name, email: input.email, metadata }),
    );
    if (typeof customer?.id !== 'string' || !customer.id.startsWith('cus_'))
      throw new StripeGatewayError('bad_response', 'Stripe answered the new customer without its id.');
    return customer.id;
  }

  /** A hosted page paying one of Marina's invoices once. */
  async checkoutForInvoice(input: InvoiceCheckout): Promise<CheckoutLink> {
    const metadata = this.#metadata(input);
    return this.#checkout('creating the invoice checkout', {
      mode: 'payment',
      customer: required(input.customerId, 'The customer id'),
      client_reference_id: input.invoiceId,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: stripeCurrency(input.currency),
            unit_amount: unitAmount(input.amountMinor),
            product_data: {
              name: `Invoice ${required(input.invoiceNumber, 'The invoice number')}`,
              description: required(input.description, 'The description'),
            },
          },
        },
      ],
      metadata,
      // The payment itself carries the ids too: it is what a refund or dispute in Stripe shows.
      payment_intent_data: { metadata },
      success_url: required(input.successUrl, 'The success URL'),
      cancel_url: required(input.cancelUrl, 'The cancel URL'),
    });
  }

  /**
   * A hosted page starting a subscription whose first period pays Marina's first invoice. The
   * subscription carries the organization id, so each renewal's `invoice.paid` names it.
   */
  async checkoutForSubscription(input: SubscriptionCheckout): Promise<CheckoutLink> {
    if (input.interval !== 'month' && input.interval !== 'year')
      throw new RangeError('The interval must be month or year.');
    const metadata = this.#metadata(input);
    return this.#checkout('creating the subscription checkout', {
      mode: 'subscription',
      customer: required(input.customerId, 'The customer id'),
      client_reference_id: input.invoiceId,
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: stripeCurrency(input.currency),
            unit_amount: unitAmount(input.amountMinor),
            recurring: { interval: input.interval },
            product_data: { name: required(input.planName, 'The plan name') },
          },
        },
      ],
      metadata,
      subscription_data: { metadata: { organization_id: input.organizationId } },
      success_url: required(input.successUrl, 'The success URL'),
      cancel_url: required(input.cancelUrl, 'The cancel URL'),
    });
  }

  /** A Checkout Session's state, read from Stripe (not from a webhook that may not have arrived). */
  async checkoutState(sessionId: string): Promise<CheckoutState> {
    required(sessionId, 'The session id');
    const session = await this.#call('reading the checkout', () => this.#stripe.checkout.sessions.retrieve(sessionId));
    if (typeof session?.id !== 'string')
      throw new StripeGatewayError('bad_response', 'Stripe answered the checkout without its id.');
    return {
      id: session.id,
      status: session.status,
      paymentStatus: session.payment_status,
      amountMinor: Number.isSafeInteger(session.amount_total) ? BigInt(session.amount_total as number) : null,
      currency: session.currency ? session.currency.toUpperCase() : null,
      invoiceId: session.metadata?.invoice_id ?? session.client_reference_id ?? null,
      organizationId: session.metadata?.organization_id ?? null,
      customerId: idOf(session.customer),
      subscriptionId: idOf(session.subscription),
    };
  }

  /** Stripe's customer portal (cards, cancelling), returning to Marina afterwards. */
  async portalLink(input: { customerId: string; returnUrl: string }): Promise<string> {
    const params = {
      customer: required(input.customerId, 'The customer id'),
      return_url: required(input.returnUrl, 'The return URL'),
    };
    const session = await this.#call('opening the customer portal', () =>
      this.#stripe.billingPortal.sessions.create(params),
    );
    if (typeof session?.url !== 'string' || session.url === '')
      throw new StripeGatewayError('bad_response', 'Stripe answered the portal session without a URL.');
    return session.url;
  }

  /** See verifyStripeWebhook. */
  verifyWebhook(
    rawBody: Buffer | string,
    signatureHeader: string | undefined,
    webhookSecret: string,
    toleranceSeconds = DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
    receivedAtMs?: number,
  ): Stripe.Event {
    return verifyWith(this.#stripe, rawBody, signatureHeader, webhookSecret, toleranceSeconds, receivedAtMs);
  }

  #metadata(input: CheckoutCommon): { organization_id: string; invoice_id: string } {
    return {
      organization_id: required(input.organizationId, 'The organization id'),
      invoice_id: required(input.invoiceId, 'The invoice id'),
    };
  }

  async #checkout(action: string, params: Stripe.Checkout.SessionCreateParams): Promise<CheckoutLink> {
    const session = await this.#call(action, () => this.#stripe.checkout.sessions.create(params));
    if (typeof session?.id !== 'string' || typeof session.url !== 'string' || session.url === '')
      throw new StripeGatewayError('bad_response', 'Stripe answered the checkout without its id or URL.');
    return { id: session.id, url: session.url };
  }
}

/**
 * The event in a webhook, only if Stripe signed exactly this body with this secret within
 * `toleranceSeconds` (the SDK's constructEvent over the raw bytes: a re-serialized body would not
 * match). A tolerance of 0 turns the SDK's age check off, letting a captured webhook be replayed
 * forever, so anything but a positive number is refused as a programming error (RangeError), not
 * answered as a bad request.
 */
export async function verifyStripeWebhook(
  rawBody: Buffer | string,
  signatureHeader: string | undefined,
  webhookSecret: string,
  toleranceSeconds = DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  receivedAtMs?: number,
): Promise<Stripe.Event> {
  const sdk = await loadStripe();
  return verifyWith(sdk, rawBody, signatureHeader, webhookSecret, toleranceSeconds, receivedAtMs);
}

function verifyWith(
  sdk: StripeSdk,
  rawBody: Buffer | string,
  signatureHeader: string | undefined,
  webhookSecret: string,
  toleranceSeconds: number,
  receivedAtMs: number | undefined,
): Stripe.Event {
  if (typeof toleranceSeconds !== 'number' || !Number.isFinite(toleranceSeconds) || toleranceSeconds <= 0)
    throw new RangeError('The webhook tolerance must be a positive number of seconds (0 would disable the age check).');
  if (typeof webhookSecret !== 'string' || webhookSecret.trim() === '')
    throw new RangeError('The Stripe webhook secret is not set.');
  if (signatureHeader === undefined || signatureHeader.trim() === '')
    throw new StripeWebhookError('missing_signature', 'The webhook has no Stripe-Signature header.');
  // The SDK reads `t=` with parseInt, so "t=12abc" or "t=x" would reach the HMAC and age checks as
  // 12 or NaN (and NaN passes an age comparison): only the signer could exploit it, but insist on
  // exactly one timestamp of digits all the same.
  const stamps = signatureHeader.split(',').filter((item) => item.trim().startsWith('t='));
  if (stamps.length !== 1 || !/^t=\d+$/.test((stamps[0] as string).trim()))
    throw new StripeWebhookError('malformed', 'The Stripe-Signature header has no valid timestamp.');
  let event: Stripe.Event;
  try {
    event = sdk.webhooks.constructEvent(
      rawBody,
      signatureHeader,
      webhookSecret,
      toleranceSeconds,
      undefined,
      receivedAtMs,
    );
  } catch (error) {
    if (error instanceof sdk.errors.StripeSignatureVerificationError) {
      // The SDK's classes do not tell an old timestamp from a wrong signature; its message does.
      // Were the wording to change, an old webhook is still refused, only named as a bad signature.
      if (/tolerance/i.test(error.message))
        throw new StripeWebhookError('too_old', 'The webhook is older than the allowed tolerance.', { cause: error });
      throw new StripeWebhookError('bad_signature', 'The webhook signature does not match.', { cause: error });
    }
    throw new StripeWebhookError('malformed', 'The webhook body is not a Stripe event.', { cause: error });
  }
  if (typeof event !== 'object' || event === null || typeof event.id !== 'string' || typeof event.type !== 'string')
    throw new StripeWebhookError('malformed', 'The webhook body is not a Stripe event.');
  return event;
}

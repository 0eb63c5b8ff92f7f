/**
 * The two ways talking to Stripe fails, as errors Marina can act on: a call to Stripe's API that
 * did not give what was asked for (StripeGatewayError), and a webhook that must not be believed
 * (StripeWebhookError, answered with 400 and changing nothing). Messages are short, name no secret
 * and say what happened in words a platform admin reads in a log or a banner.
 */
import type Stripe from 'stripe';

export type StripeFailure =
  /** The card or payment method was refused (HTTP 402). */
  | 'declined'
  /** The secret key was refused (401) or lacks a permission (403): the platform's settings are wrong. */
  | 'auth'
  /** Stripe refused the parameters (400/404): a bug or a stale id (a customer deleted in the dashboard). */
  | 'invalid_request'
  | 'rate_limited'
  /** No connection to Stripe (refused, reset, DNS). */
  | 'network'
  /** Connected, but no answer within the client's timeout. */
  | 'timeout'
  /** Stripe answered with an error of its own (500…). */
  | 'stripe_error'
  /** Stripe answered 200 without what the call needs (a Checkout Session without a URL). */
  | 'bad_response';

export class StripeGatewayError extends Error {
  readonly reason: StripeFailure;
  /** Stripe's HTTP status when it answered. */
  readonly statusCode: number | null;
  /** Stripe's error code (`card_declined`, `resource_missing`…) when it gave one. */
  readonly stripeCode: string | null;
  /** Stripe's request id (`req_…`): what Stripe's support asks for. */
  readonly requestId: string | null;

  constructor(
    reason: StripeFailure,
    message: string,
    details: {
      statusCode?: number | null;
      stripeCode?: string | null;
      requestId?: string | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'StripeGatewayError';
    this.reason = reason;
    this.statusCode = details.statusCode ?? null;
    this.stripeCode = details.stripeCode ?? null;
    this.requestId = details.requestId ?? null;
  }
}

export type WebhookRefusal = 'missing_signature' | 'bad_signature' | 'too_old' | 'malformed';

/** A webhook that is not (provably, recently) from Stripe: answer 400 and change nothing. */
export class StripeWebhookError extends Error {
  readonly reason: WebhookRefusal;
  constructor(reason: WebhookRefusal, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StripeWebhookError';
    this.reason = reason;
  }
}

/** The SDK's code for a request its timeout aborted (net/HttpClient.js TIMEOUT_ERROR_CODE). */
const TIMEOUT_CODE = 'ETIMEDOUT';

/** Stripe's own message only when it helps and cannot carry anything secret. */
function trimmed(message: string): string {
  const first = message.split('\n')[0]?.trim() ?? '';
  return first.length > 200 ? `${first.slice(0, 199)}…` : first;
}

/**
 * Any failure of an SDK call as a StripeGatewayError. The SDK's own classes decide the reason (they
 * come from the HTTP status), so nothing depends on the wording of Stripe's messages. `errors` is
 * the SDK's error classes (a client's `errors`): the SDK itself is only loaded when first used.
 */
export function gatewayErrorOf(
  error: unknown,
  action: string,
  timeoutMs: number,
  errors: typeof Stripe.errors,
): StripeGatewayError {
  if (error instanceof StripeGatewayError) return error;
  if (!(error instanceof errors.StripeError)) {
    const text = error instanceof Error ? error.message : String(error);
    return new StripeGatewayError('stripe_error', `Stripe: ${action} failed: ${trimmed(text)}`, { cause: error });
  }
  const details = {
    statusCode: error.statusCode ?? null,
    stripeCode: error.code ?? null,
    requestId: error.requestId ?? null,
    cause: error,
  };
  if (error instanceof errors.StripeConnectionError) {
    const code = (error.detail as { code?: unknown } | undefined)?.code;
    if (code === TIMEOUT_CODE)
      return new StripeGatewayError('timeout', `Stripe did not answer within ${timeoutMs} ms (${action}).`, details);
    const why = typeof code === 'string' ? ` (${code})` : '';
    return new StripeGatewayError('network', `Could not reach Stripe${why} (${action}).`, details);
  }
  if (error instanceof errors.StripeCardError)
    return new StripeGatewayError('declined', `Stripe declined the payment: ${trimmed(error.message)}`, details);
  // Stripe's message for a bad key repeats part of the key: say what to fix instead.
  if (error instanceof errors.StripeAuthenticationError)
    return new StripeGatewayError('auth', `Stripe refused the secret key (${action}).`, details);
  if (error instanceof errors.StripePermissionError)
    return new StripeGatewayError('auth', `The Stripe key may not do this (${action}).`, details);
  if (error instanceof errors.StripeRateLimitError)
    return new StripeGatewayError('rate_limited', `Stripe is rate-limiting Marina (${action}).`, details);
  if (error instanceof errors.StripeInvalidRequestError)
    return new StripeGatewayError('invalid_request', `Stripe refused ${action}: ${trimmed(error.message)}`, details);
  const status = error.statusCode ? ` (HTTP ${error.statusCode})` : '';
  return new StripeGatewayError('stripe_error', `Stripe failed ${action}${status}: ${trimmed(error.message)}`, details);
}

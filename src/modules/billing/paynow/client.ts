import { parseDecimal } from '../money.js';
import { PaynowError } from './errors.js';
import { encodePaynowForm, type PaynowFields, parsePaynowForm, signPaynowFields, verifyPaynowHash } from './hash.js';
import {
  amountField,
  checkAdditionalInfo,
  checkEmail,
  checkMethod,
  checkPhone,
  checkReference,
  checkUrl,
  PAYNOW_CURRENCIES,
  type PaynowCurrency,
  type PaynowMobileMethod,
} from './validate.js';

/**
 * Marina's client of Paynow's documented HTTP interface (developers.paynow.co.zw), written instead
 * of the `paynow` SDK (issue #20): every failure is a thrown PaynowError, amounts are minor units,
 * every answer is bounded by a timeout and every signed answer is verified.
 */

export interface PaynowClientOptions {
  integrationId: string;
  integrationKey: string;
  /** The integration's currency: Paynow sets one integration up per currency. */
  currency: PaynowCurrency;
  baseUrl?: string;
  timeoutMs?: number;
}

export interface PaynowInitiateRequest {
  /** Marina's reference (the invoice's), 1 to 50 of [A-Za-z0-9-]. */
  reference: string;
  amountMinor: bigint;
  /** Shown to the payer; at most 255 characters (refused, never cut). */
  additionalInfo: string;
  returnUrl: string;
  resultUrl: string;
  authEmail?: string;
}

export interface PaynowMobileRequest extends PaynowInitiateRequest {
  authEmail: string;
  /** 07XXXXXXXX or +2637XXXXXXXX; sent as 07XXXXXXXX. */
  phone: string;
  method: PaynowMobileMethod;
}

export interface PaynowWebCheckout {
  browserUrl: string;
  pollUrl: string;
}

export interface PaynowMobileCheckout {
  pollUrl: string;
  instructions: string;
  paynowReference: string;
}

export type PaynowState = 'paid' | 'pending' | 'cancelled' | 'failed';

export interface PaynowStatus {
  reference: string;
  amountMinor: bigint;
  paynowReference: string;
  pollUrl: string;
  status: PaynowState;
  /** Paynow's own word ("Awaiting Delivery"), for the log and the admin. */
  rawStatus: string;
}

const STATES: Record<string, PaynowState> = {
  paid: 'paid',
  'awaiting delivery': 'paid', // paid, the funds held until the merchant marks delivery
  delivered: 'paid',
  cancelled: 'cancelled',
  failed: 'failed',
  disputed: 'failed', // the payer contests it: the money is not Marina's to count on
  refunded: 'failed', // after 'paid' this is a reversal, which the caller must treat as one
  created: 'pending',
  sent: 'pending',
};

/**
 * Paynow's status as one of four states. A status not in Paynow's list is 'pending', not an
 * error: an unknown word must neither settle nor fail an invoice, a poller keeps asking until its
 * own deadline, and `rawStatus` keeps the word for the log.
 */
export function normalizePaynowStatus(rawStatus: string): PaynowState {
  return STATES[rawStatus.trim().toLowerCase()] ?? 'pending';
}

export class PaynowClient {
  readonly integrationId: string;
  readonly currency: PaynowCurrency;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** A private field, so the key shows neither in a logged client nor in its JSON. */
  readonly #integrationKey: string;
  readonly #origin: string;

  constructor(options: PaynowClientOptions) {
    const invalid = (message: string) => new PaynowError('invalid', message);
    if (!/^\d{1,20}$/.test(options.integrationId)) throw invalid('the integration id must be digits');
    if (options.integrationKey.trim() === '') throw invalid('the integration key is empty');
    if (!PAYNOW_CURRENCIES.includes(options.currency)) throw invalid(`unsupported currency ${options.currency}`);
    const timeoutMs = options.timeoutMs ?? 15_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw invalid('timeoutMs must be a positive integer');
    const base = checkUrl(options.baseUrl ?? 'https://www.paynow.co.zw', 'baseUrl').replace(/\/+$/, '');
    this.integrationId = options.integrationId;
    this.#integrationKey = options.integrationKey;
    this.currency = options.currency;
    this.baseUrl = base;
    this.timeoutMs = timeoutMs;
    this.#origin = new URL(base).origin;
  }

  /** Web checkout: the browser goes to `browserUrl`; `pollUrl` is stored to confirm the outcome. */
  async initiate(request: PaynowInitiateRequest): Promise<PaynowWebCheckout> {
    // authemail is optional for web checkout: absent or empty goes empty, anything else must be an address.
    const fields = this.#transactionFields(request, request.authEmail ? checkEmail(request.authEmail) : '');
    const answer = await this.#initiateExchange('/interface/initiatetransaction', fields);
    const browserUrl = required(answer, 'browserurl');
    try {
      checkUrl(browserUrl, 'browserurl');
    } catch {
      throw new PaynowError('malformed', 'browserurl is not an http(s) URL');
    }
    return { browserUrl, pollUrl: this.#ownPollUrl(required(answer, 'pollurl'), 'malformed') };
  }

  /** Express checkout: Paynow asks the payer's wallet (EcoCash, OneMoney) to approve; then poll. */
  async initiateMobile(request: PaynowMobileRequest): Promise<PaynowMobileCheckout> {
    const fields = this.#transactionFields(request, checkEmail(request.authEmail));
    fields.push(['phone', checkPhone(request.phone)], ['method', checkMethod(request.method)]);
    const answer = await this.#initiateExchange('/interface/remotetransaction', fields);
    return {
      pollUrl: this.#ownPollUrl(required(answer, 'pollurl'), 'malformed'),
      instructions: answer.get('instructions') ?? '',
      paynowReference: required(answer, 'paynowreference'),
    };
  }

  /**
   * The transaction's current status: an empty POST to its poll URL. Only a URL on Paynow's
   * origin is polled, whoever supplied it, so a forged callback cannot make Marina post elsewhere.
   */
  async poll(pollUrl: string): Promise<PaynowStatus> {
    const url = this.#ownPollUrl(pollUrl, 'invalid');
    const fields = await this.#exchange(url, '');
    const answer = toMap(fields);
    rejectIfError(answer);
    this.#verify(fields, 'the poll answer');
    return this.#status(answer);
  }

  /**
   * The result URL callback's raw form body as a status, refused (kind 'hash') unless signed with
   * this integration's key. The caller still compares reference and amount with its invoice.
   */
  parseResult(rawBody: string): PaynowStatus {
    const fields = parsePaynowForm(rawBody);
    // The hash first: nothing in an unsigned body, not even its status, is worth reading.
    this.#verify(fields, 'the result callback');
    return this.#status(toMap(fields));
  }

  #transactionFields(request: PaynowInitiateRequest, authEmail: string): Array<[string, string]> {
    // The documented order, which is also the hash's order.
    return [
      ['id', this.integrationId],
      ['reference', checkReference(request.reference)],
      ['amount', amountField(request.amountMinor, this.currency)],
      ['additionalinfo', checkAdditionalInfo(request.additionalInfo)],
      ['returnurl', checkUrl(request.returnUrl, 'returnUrl')],
      ['resulturl', checkUrl(request.resultUrl, 'resultUrl')],
      ['authemail', authEmail],
      ['status', 'Message'],
    ];
  }

  async #initiateExchange(path: string, fields: PaynowFields): Promise<Map<string, string>> {
    const body = encodePaynowForm(signPaynowFields(fields, this.#integrationKey));
    const answerFields = await this.#exchange(`${this.baseUrl}${path}`, body);
    const answer = toMap(answerFields);
    // An error answer carries no hash (Paynow signs only Ok): it can only make Marina fail, never pay.
    rejectIfError(answer);
    this.#verify(answerFields, 'the initiation answer');
    if (required(answer, 'status').toLowerCase() !== 'ok') {
      throw new PaynowError('malformed', `unexpected status "${answer.get('status')}"`);
    }
    return answer;
  }

  async #exchange(url: string, body: string): Promise<Array<[string, string]>> {
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        // A redirect would turn the POST into a GET somewhere else: report it, never follow it.
        redirect: 'manual',
        // One deadline for the headers and the body alike: a server that trickles is as stuck as one that hangs.
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new PaynowError('timeout', `no answer from ${new URL(url).origin} within ${this.timeoutMs} ms`, {
          cause: error,
        });
      }
      throw new PaynowError('network', `could not reach ${new URL(url).origin}`, { cause: error });
    }
    if (status < 200 || status > 299) {
      throw new PaynowError('http', `HTTP ${status} from ${new URL(url).origin}`, { httpStatus: status });
    }
    return parsePaynowForm(text);
  }

  #verify(fields: PaynowFields, what: string): void {
    if (!verifyPaynowHash(fields, this.#integrationKey)) {
      throw new PaynowError('hash', `${what} has a missing or wrong hash`);
    }
  }

  #status(answer: Map<string, string>): PaynowStatus {
    const amount = required(answer, 'amount');
    const amountMinor = parseDecimal(amount, this.currency);
    if (amountMinor === undefined) throw new PaynowError('malformed', `the amount "${amount}" is not a plain decimal`);
    const rawStatus = required(answer, 'status');
    return {
      reference: required(answer, 'reference'),
      amountMinor,
      paynowReference: required(answer, 'paynowreference'),
      pollUrl: this.#ownPollUrl(required(answer, 'pollurl'), 'malformed'),
      status: normalizePaynowStatus(rawStatus),
      rawStatus,
    };
  }

  /** `pollUrl` if it is on the base URL's origin (and carries no credentials), else the given kind. */
  #ownPollUrl(pollUrl: string, kind: 'invalid' | 'malformed'): string {
    let url: URL;
    try {
      url = new URL(pollUrl);
    } catch {
      throw new PaynowError(kind, 'the poll URL is not a URL');
    }
    if (url.origin !== this.#origin || url.username !== '' || url.password !== '') {
      throw new PaynowError(kind, `the poll URL is not on ${this.#origin}`);
    }
    return pollUrl;
  }
}

/** Names lowercased; a repeated name makes the message ambiguous, so it is refused. */
function toMap(fields: PaynowFields): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of fields) {
    const key = name.toLowerCase();
    if (map.has(key)) throw new PaynowError('malformed', `the field "${key}" appears twice`);
    map.set(key, value);
  }
  if (!map.has('status')) throw new PaynowError('malformed', 'the answer is not a Paynow message (no status)');
  return map;
}

function rejectIfError(answer: Map<string, string>): void {
  if (answer.get('status')?.toLowerCase() === 'error') {
    const reason = answer.get('error') || 'no reason given';
    throw new PaynowError('rejected', reason, { paynowMessage: reason });
  }
}

function required(answer: Map<string, string>, name: string): string {
  const value = answer.get(name);
  if (value === undefined || value === '') throw new PaynowError('malformed', `the answer has no ${name}`);
  return value;
}

/**
 * Stand-in for Stripe's API (tests only — not Stripe), implementing exactly the wire protocol of the
 * calls Marina makes as the official SDK sends them: form-encoded bodies in bracket notation
 * (`line_items[0][price_data][unit_amount]=4900`, parsed into nested objects), `Authorization: Bearer
 * sk_test_…` checked (a wrong key gets Stripe's 401 error JSON), JSON answers shaped like Stripe's
 * objects. Endpoints: POST /v1/customers, POST /v1/checkout/sessions, GET /v1/checkout/sessions/:id,
 * POST /v1/billing_portal/sessions. Webhooks are signed as Stripe signs them (`Stripe-Signature:
 * t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`). A hosted checkout page (GET /checkout/:id, Pay
 * and Decline) and a portal page (GET /portal/:id) stand in for Stripe's pages in browser tests.
 * Not evidence of how Stripe behaves beyond these calls: it checks only what Marina sends, and
 * delivers the webhook before redirecting (Stripe does both independently) so a test sees it at once.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { formatMoney } from '../../src/modules/billing/money.js';

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };
type Metadata = Record<string, string>;

/** An error answer the way Stripe words it: the status, a sentence and the param at fault. */
class ApiError extends Error {
  status = 400;
  extra: { param?: string; code?: string } = {};
}
const apiError = (status: number, message: string, extra: ApiError['extra']) =>
  Object.assign(new ApiError(message), { status, extra });
const invalid = (param: string, message = `Invalid value for ${param}.`) => apiError(400, message, { param });

/** `a[b][0][c]=v` into `{ a: { b: [{ c: 'v' }] } }`: an object whose keys are 0, 1, 2… becomes an array. */
export function parseStripeForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.match(/^[^[\]]+|(?<=\[)[^[\]]*(?=\])/g) ?? [];
    if (path.length === 0 || path.map((part, i) => (i === 0 ? part : `[${part}]`)).join('') !== key)
      throw invalid(key, `Invalid parameter name: ${key}`);
    let node = root;
    for (const [i, part] of path.entries()) {
      if (i === path.length - 1) node[part] = value;
      else {
        const next = node[part] ?? {};
        if (typeof next !== 'object' || Array.isArray(next)) throw invalid(key);
        node[part] = next;
        node = next;
      }
    }
  }
  const arrays = (value: FormValue): FormValue => {
    if (typeof value !== 'object' || Array.isArray(value)) return value;
    const entries = Object.entries(value).map(([k, v]) => [k, arrays(v)] as const);
    if (entries.length > 0 && entries.every(([k], i) => k === String(i))) return entries.map(([, v]) => v);
    return Object.fromEntries(entries);
  };
  return arrays(root) as FormObject;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
const unix = (at = new Date()) => Math.floor(at.getTime() / 1000);
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (text: string) => text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);

function object(form: FormObject, key: string, param = key): FormObject {
  const value = form[key] ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(param);
  return value;
}
function text(form: FormObject, key: string, param: string, need = false): string | null {
  const value = form[key];
  if (value === undefined && !need) return null;
  if (typeof value !== 'string' || value === '')
    throw apiError(400, `Missing required param: ${param}.`, { param, code: 'parameter_missing' });
  return value;
}
function metadata(form: FormObject, key: string, param: string): Metadata {
  const value = object(form, key, param);
  if (Object.values(value).some((v) => typeof v !== 'string')) throw invalid(param);
  return value as Metadata;
}

/** Signs like Stripe: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`. */
export function signStripePayload(payload: string, secret: string, timestamp = unix()): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')}`;
}

/** An event as Stripe sends it, around a copy of the object (later changes to it do not leak in). */
export function stripeEvent(type: string, data: object, created = unix()) {
  const request = { id: null, idempotency_key: null };
  const envelope = { id: id('evt'), object: 'event' as const, api_version: Stripe.API_VERSION, created };
  return { ...envelope, data: { object: structuredClone(data) }, livemode: false, pending_webhooks: 1, request, type };
}
export type StandinEvent = { id: string; type: string; [key: string]: unknown };

function addInterval(at: number, interval: string | null): number {
  const date = new Date(at * 1000);
  date.setUTCMonth(date.getUTCMonth() + (interval === 'year' ? 12 : 1));
  return unix(date);
}

type Mode = 'payment' | 'subscription';
function lineItemsOf(form: FormObject, mode: Mode) {
  const items = form.line_items;
  if (!Array.isArray(items) || items.length === 0)
    throw apiError(400, 'Missing required param: line_items.', { param: 'line_items' });
  return items.map((raw, i) => {
    const at = `line_items[${i}][price_data]`;
    if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`line_items[${i}]`);
    const price = object(raw, 'price_data', at);
    const currency = text(price, 'currency', `${at}[currency]`, true) as string;
    const amount = text(price, 'unit_amount', `${at}[unit_amount]`, true) as string;
    const quantity = text(raw, 'quantity', `line_items[${i}][quantity]`) ?? '1';
    if (!/^[a-z]{3}$/.test(currency)) throw invalid(`${at}[currency]`, `Invalid currency: ${currency}.`);
    if (!/^\d+$/.test(amount)) throw invalid(`${at}[unit_amount]`, 'Invalid integer.');
    if (!/^[1-9]\d*$/.test(quantity)) throw invalid(`line_items[${i}][quantity]`, 'Invalid integer.');
    const interval = text(object(price, 'recurring'), 'interval', `${at}[recurring][interval]`, 'recurring' in price);
    if (interval !== null && !['day', 'week', 'month', 'year'].includes(interval)) throw invalid(`${at}[recurring]`);
    if (mode === 'payment' && interval !== null)
      throw invalid(at, 'You specified `payment` mode but passed a recurring price.');
    const product = object(price, 'product_data', `${at}[product_data]`);
    const productName = text(product, 'name', `${at}[product_data][name]`, true) as string;
    const description = text(product, 'description', `${at}[product_data][description]`);
    return { currency, unitAmount: Number(amount), quantity: Number(quantity), productName, description, interval };
  });
}
export type StandinLineItem = ReturnType<typeof lineItemsOf>[number];

/** The Checkout Session object as Stripe answers it (the fields Marina reads, and a few more). */
function sessionObject(form: FormObject, mode: Mode, items: StandinLineItem[], base: string, created: number) {
  const sessionId = id('cs_test');
  return {
    id: sessionId,
    object: 'checkout.session' as const,
    mode,
    amount_total: items.reduce((sum, item) => sum + item.unitAmount * item.quantity, 0),
    currency: items[0]?.currency as string,
    customer: text(form, 'customer', 'customer'),
    client_reference_id: text(form, 'client_reference_id', 'client_reference_id'),
    metadata: metadata(form, 'metadata', 'metadata'),
    payment_status: 'unpaid' as 'paid' | 'unpaid',
    status: 'open' as 'open' | 'complete' | 'expired',
    subscription: null as string | null,
    success_url: text(form, 'success_url', 'success_url', true) as string,
    cancel_url: text(form, 'cancel_url', 'cancel_url'),
    url: `${base}/checkout/${sessionId}`,
    created,
    livemode: false,
  };
}

/** A Checkout Session: the object Stripe answers, what Marina sent to make it, and declined attempts. */
export interface StandinCheckout {
  session: ReturnType<typeof sessionObject>;
  params: FormObject;
  lineItems: StandinLineItem[];
  paymentIntentMetadata: Metadata;
  subscriptionMetadata: Metadata;
  declines: number;
}

/** A webhook sent: `status` is Marina's answer, 0 if unreachable, null when no webhook URL was set. */
export type Delivery = { event: StandinEvent; payload: string; header: string; status: number | null };
/** A forged webhook (another secret), an old one (timestamp, Unix seconds), a body changed after signing. */
export type SendOptions = { secret?: string; timestamp?: number; tamper?: (payload: string) => string };

/** `clock`: the time events and signatures carry (Marina's test clock); the real time when omitted. */
export type StandinOptions = { secretKey: string; webhookSecret: string; webhookUrl?: string; clock?: () => Date };

export async function startStripeStandin(options: StandinOptions) {
  const now = () => unix(options.clock?.());
  if (!options.secretKey.startsWith('sk_test_')) throw new Error('The stand-in takes a test key (sk_test_…).');
  let webhookUrl = options.webhookUrl ?? null;
  let failure: 'hang' | 'http500' | null = null;
  let baseUrl = '';
  const sessions = new Map<string, StandinCheckout>();
  const customers = new Map<string, { id: string; metadata: Metadata; name: string | null; email: string | null }>();
  const subscriptions = new Map<string, { checkout: StandinCheckout; item: StandinLineItem; periodEnd: number }>();
  const portals = new Map<string, string | null>();
  const events: Delivery[] = [];
  const hanging = new Set<ServerResponse>();

  const customerParam = (form: FormObject, need: boolean): string | null => {
    const customer = text(form, 'customer', 'customer', need);
    if (customer !== null && !customers.has(customer))
      throw apiError(400, `No such customer: '${customer}'`, { param: 'customer', code: 'resource_missing' });
    return customer;
  };

  const api: Record<string, (form: FormObject, pathId: string) => unknown> = {
    'POST /v1/customers': (form) => {
      const fields = { name: text(form, 'name', 'name'), email: text(form, 'email', 'email') };
      const customer = { id: id('cus'), ...fields, metadata: metadata(form, 'metadata', 'metadata') };
      customers.set(customer.id, customer);
      return { ...customer, object: 'customer', created: now(), livemode: false };
    },
    'POST /v1/checkout/sessions': (form) => {
      const mode = text(form, 'mode', 'mode', true);
      if (mode !== 'payment' && mode !== 'subscription') throw invalid('mode', `Invalid mode: ${mode}.`);
      const lineItems = lineItemsOf(form, mode);
      if (mode === 'subscription' && lineItems.every((item) => item.interval === null))
        throw invalid('line_items', 'You must provide at least one recurring price in `subscription` mode.');
      if (lineItems.some((item) => item.currency !== lineItems[0]?.currency))
        throw invalid('line_items', 'All line items must have the same currency.');
      const unexpected = mode === 'payment' ? 'subscription_data' : 'payment_intent_data';
      if (unexpected in form) throw invalid(unexpected, `You can not pass \`${unexpected}\` in \`${mode}\` mode.`);
      customerParam(form, false);
      const session = sessionObject(form, mode, lineItems, baseUrl, now());
      const intent = metadata(object(form, 'payment_intent_data'), 'metadata', 'payment_intent_data[metadata]');
      const sub = metadata(object(form, 'subscription_data'), 'metadata', 'subscription_data[metadata]');
      const found = { session, params: form, lineItems, paymentIntentMetadata: intent, subscriptionMetadata: sub };
      sessions.set(session.id, { ...found, declines: 0 });
      return session;
    },
    'GET /v1/checkout/sessions/:id': (_form, pathId) => {
      const found = sessions.get(pathId);
      if (found) return found.session;
      throw apiError(404, `No such checkout.session: '${pathId}'`, { param: 'session', code: 'resource_missing' });
    },
    'POST /v1/billing_portal/sessions': (form) => {
      const [portal, returnUrl] = [id('bps'), text(form, 'return_url', 'return_url')];
      const fields = { customer: customerParam(form, true), return_url: returnUrl, url: `${baseUrl}/portal/${portal}` };
      portals.set(portal, returnUrl);
      return { id: portal, object: 'billing_portal.session', ...fields, created: now(), livemode: false };
    },
  };

  const answerApi = (req: IncomingMessage, res: ServerResponse, body: string, path: string) => {
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req') }).end(JSON.stringify(value));
    const error = (status: number, type: string, message: string, extra = {}) =>
      json(status, { error: { type, message, ...extra } });
    const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (key === '') return error(401, 'invalid_request_error', 'You did not provide an API key.');
    if (key !== options.secretKey)
      return error(401, 'invalid_request_error', `Invalid API Key provided: ${key.slice(0, 8)}****${key.slice(-4)}`);
    const injected = failure;
    failure = null;
    if (injected === 'http500') return error(500, 'api_error', 'An unknown error occurred.');
    if (injected === 'hang') return void hanging.add(res.on('close', () => hanging.delete(res)));
    const [, base, pathId = ''] = /^(\/v1\/checkout\/sessions)\/([^/]+)$/.exec(path) ?? [];
    const handler = api[base ? `${req.method} ${base}/:id` : `${req.method} ${path}`];
    if (!handler) return error(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${path}).`);
    try {
      json(200, handler(parseStripeForm(body), pathId));
    } catch (failed) {
      if (!(failed instanceof ApiError)) throw failed;
      error(failed.status, 'invalid_request_error', failed.message, failed.extra);
    }
  };

  const deliver = async (event: StandinEvent, send: SendOptions = {}): Promise<Delivery> => {
    const payload = JSON.stringify(event, null, 2); // Stripe indents its webhook bodies like this
    const header = signStripePayload(payload, send.secret ?? options.webhookSecret, send.timestamp ?? now());
    const delivery: Delivery = { event, payload, header, status: null };
    events.push(delivery);
    if (webhookUrl === null) return delivery;
    const headers = { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header };
    try {
      const body = send.tamper ? send.tamper(payload) : payload;
      const answer = await fetch(webhookUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      await answer.arrayBuffer();
      delivery.status = answer.status;
    } catch {
      delivery.status = 0;
    }
    return delivery;
  };

  const openCheckout = (sessionId: string): StandinCheckout => {
    const found = sessions.get(sessionId);
    if (found?.session.status !== 'open')
      throw new Error(`Checkout ${sessionId} is ${found?.session.status ?? 'unknown'}.`);
    return found;
  };

  /** Pays an open session, delivering checkout.session.completed (a subscription one starts a `sub_…`). `amountTotal`:
   *  Stripe reports another amount than Marina asked; `async`: left unpaid, as a bank debit under way. */
  const complete = async (sessionId: string, opts: { amountTotal?: number; async?: boolean } = {}) => {
    const checkout = openCheckout(sessionId);
    const session = checkout.session;
    session.status = 'complete';
    session.payment_status = opts.async ? 'unpaid' : 'paid';
    if (opts.amountTotal !== undefined) session.amount_total = opts.amountTotal;
    const item = checkout.lineItems.find((line) => line.interval);
    if (item) {
      session.subscription = id('sub');
      subscriptions.set(session.subscription, { checkout, item, periodEnd: addInterval(now(), item.interval) });
    }
    return deliver(stripeEvent('checkout.session.completed', session, now()));
  };

  /** A card refused on the hosted page: nothing paid, no webhook, the session stays open. */
  const decline = (sessionId: string) => {
    openCheckout(sessionId).declines += 1;
  };

  /** The next period is charged: `invoice.paid` shaped as API versions since 2025-03-31 send it. */
  const renew = async (subscriptionId: string, amountMinor?: number, opts: { billingReason?: string } = {}) => {
    const sub = subscriptions.get(subscriptionId);
    if (!sub) throw new Error(`The stand-in has no subscription ${subscriptionId}.`);
    const period = { start: sub.periodEnd, end: addInterval(sub.periodEnd, sub.item.interval) };
    sub.periodEnd = period.end;
    const amount = amountMinor ?? sub.item.unitAmount * sub.item.quantity;
    const [currency, invoiceId, customer] = [sub.item.currency, id('in'), sub.checkout.session.customer];
    const line = { id: id('il'), object: 'line_item', amount, currency, period };
    const lines = { object: 'list', data: [line], has_more: false, url: `/v1/invoices/${invoiceId}/lines` };
    const details = { metadata: sub.checkout.subscriptionMetadata, subscription: subscriptionId };
    const parent = { type: 'subscription_details', quote_details: null, subscription_details: details };
    const reason = opts.billingReason ?? 'subscription_cycle';
    const invoice = { id: invoiceId, object: 'invoice', amount_paid: amount, billing_reason: reason, currency, parent };
    const rest = { customer, lines, metadata: {}, status: 'paid', created: now(), livemode: false };
    return deliver(stripeEvent('invoice.paid', { ...invoice, ...rest }, now()));
  };

  const page = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stripe stand-in</title></head>
<body><p>Stripe stand-in (test mode)</p>${body}</body></html>`);
  };

  const checkoutPage = (res: ServerResponse, { session, lineItems, declines }: StandinCheckout) => {
    if (session.status !== 'open') return page(res, 410, '<h1>This Checkout Session is no longer active.</h1>');
    const every = lineItems[0]?.interval ? ` per ${lineItems[0].interval}` : '';
    const items = lineItems.map((item) => `<li>${esc(item.productName)}</li>`).join('');
    const amount = esc(formatMoney(BigInt(session.amount_total), session.currency.toUpperCase()));
    const back = session.cancel_url ? `<a href="${esc(session.cancel_url)}">Back</a>` : '';
    const notice = declines > 0 ? '<p role="alert">Your card was declined.</p>' : '';
    const button = (action: string, label: string) =>
      `<form method="post" action="/checkout/${session.id}/${action}"><button type="submit">${label}</button></form>`;
    const buttons = `${button('pay', 'Pay')}${button('decline', 'Decline')}`;
    page(res, 200, `${back}<ul>${items}</ul><p id="amount">${amount}${every}</p>${notice}${buttons}`);
  };

  const answerPage = (req: IncomingMessage, res: ServerResponse, path: string) => {
    const [, kind, pageId = '', action] = /^\/(checkout|portal)\/([^/]+)(?:\/(pay|decline))?$/.exec(path) ?? [];
    const found = kind === 'checkout' ? sessions.get(pageId) : undefined;
    const post = req.method === 'POST' && found?.session.status === 'open';
    if (found && post && action === 'decline') decline(pageId);
    if (found && post && action === 'pay') {
      const location = found.session.success_url.replace('{CHECKOUT_SESSION_ID}', pageId);
      const done = () => res.writeHead(303, { location }).end();
      return void complete(pageId).then(done, (e: unknown) => page(res, 500, `<h1>${esc(String(e))}</h1>`));
    }
    if (found) return checkoutPage(res, found);
    const back = kind === 'portal' ? portals.get(pageId) : undefined;
    if (back === undefined) return page(res, 404, '<h1>Not found</h1>');
    page(res, 200, `<h1>Customer portal</h1>${back ? `<a href="${esc(back)}">Return</a>` : ''}`);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://standin').pathname;
      if (path.startsWith('/v1/')) answerApi(req, res, Buffer.concat(chunks).toString('utf8'), path);
      else answerPage(req, res, path);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    host: '127.0.0.1',
    port,
    protocol: 'http' as const,
    baseUrl,
    sessions,
    customers,
    subscriptions,
    /** Every webhook sent, oldest first. */
    events,
    setWebhookUrl(url: string | null) {
      webhookUrl = url;
    },
    /** The next API call hangs until the client gives up, or gets Stripe's 500. */
    failNext(kind: 'hang' | 'http500') {
      failure = kind;
    },
    complete,
    decline,
    renew,
    /** Posts any event (a new one, or a delivered one again as Stripe retries) to the webhook URL, signed
     *  now (or forged, old, tampered): answers Marina's HTTP status. */
    send: async (event: StandinEvent, send: SendOptions = {}) => (await deliver(event, send)).status,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type StripeStandin = Awaited<ReturnType<typeof startStripeStandin>>;

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeGatewayError, StripeWebhookError } from '../src/modules/billing/stripe/errors.js';
import { summarizeEvent } from '../src/modules/billing/stripe/events.js';
import { createStripeClient, StripeGateway, verifyStripeWebhook } from '../src/modules/billing/stripe/gateway.js';
import { type Delivery, type StripeStandin, startStripeStandin, stripeEvent } from './standin/stripe-server.js';

// The official Stripe SDK against the Stripe stand-in on loopback, and webhooks checked by a small
// endpoint that does what Marina's route does: the raw body to verifyWebhook, 200 or 400.
const SECRET_KEY = 'sk_test_marina0000000000000000key1';
const WEBHOOK_SECRET = 'whsec_marina_test_secret';
let standin: StripeStandin;
let gateway: StripeGateway;
let endpoint: Server;
const received: Stripe.Event[] = [];
const refused: string[] = [];

const api = () => ({ host: standin.host, port: standin.port, protocol: standin.protocol });
const org = 'c0ffee00-0000-4000-8000-000000000001';
const invoice = 'c0ffee00-0000-4000-8000-0000000000a1';
const urls = {
  successUrl: 'https://marina.test/paid?session={CHECKOUT_SESSION_ID}',
  cancelUrl: 'https://marina.test/billing',
};

beforeAll(async () => {
  standin = await startStripeStandin({ secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET });
  gateway = new StripeGateway(await createStripeClient({ secretKey: SECRET_KEY, api: api() }));
  endpoint = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const header = req.headers['stripe-signature'] as string | undefined;
        received.push(gateway.verifyWebhook(Buffer.concat(chunks), header, WEBHOOK_SECRET));
        res.writeHead(200).end();
      } catch (error) {
        if (!(error instanceof StripeWebhookError)) throw error;
        refused.push(error.reason);
        res.writeHead(400).end(error.message);
      }
    });
  });
  endpoint.listen(0, '127.0.0.1');
  await new Promise((resolve) => endpoint.once('listening', resolve));
  standin.setWebhookUrl(`http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/webhooks/stripe`);
});

afterAll(async () => {
  await standin?.close();
  endpoint?.closeAllConnections();
  await new Promise((resolve) => endpoint?.close(resolve));
});

const lastDelivery = () => standin.events.at(-1) as Delivery;
/** The event Marina's endpoint accepted last, summarized. */
const lastSummary = () => summarizeEvent(received.at(-1) as Stripe.Event);

async function customer(): Promise<string> {
  return gateway.ensureCustomer({ organizationId: org, name: 'Acme Ltd', email: 'billing@acme.test' });
}

type InvoiceCheckout = Parameters<StripeGateway['checkoutForInvoice']>[0];
const invoiceInput = (customerId: string, over: Partial<InvoiceCheckout> = {}): InvoiceCheckout => ({
  ...{ customerId, organizationId: org, invoiceId: invoice, invoiceNumber: 'INV-2027-000123', ...urls },
  ...{ amountMinor: 4900n, currency: 'USD', description: 'Plan Pro, May 2027', ...over },
});

describe('the Stripe gateway over the SDK', () => {
  it('creates a customer once, tagged with the organization', async () => {
    const id = await customer();
    expect(id).toMatch(/^cus_/);
    expect(standin.customers.get(id)).toMatchObject({
      name: 'Acme Ltd',
      email: 'billing@acme.test',
      metadata: { organization_id: org },
    });
    const count = standin.customers.size;
    const again = await gateway.ensureCustomer({ existingId: id, organizationId: org, name: 'x', email: 'x@x.test' });
    expect(again).toBe(id);
    expect(standin.customers.size).toBe(count);
  });

  it('pays an invoice through a payment-mode Checkout Session, sending exactly what Stripe expects', async () => {
    const customerId = await customer();
    const link = await gateway.checkoutForInvoice(invoiceInput(customerId));
    expect(link.id).toMatch(/^cs_test_/);
    expect(link.url).toBe(`${standin.baseUrl}/checkout/${link.id}`);
    const sent = standin.sessions.get(link.id);
    // The bracket-notation form as the SDK sent it, parsed into nested objects.
    expect(sent?.params).toMatchObject({
      mode: 'payment',
      customer: customerId,
      client_reference_id: invoice,
      line_items: [{ quantity: '1', price_data: { currency: 'usd', unit_amount: '4900' } }],
      metadata: { organization_id: org, invoice_id: invoice },
    });
    const product = { productName: 'Invoice INV-2027-000123', description: 'Plan Pro, May 2027', interval: null };
    expect(sent?.lineItems).toEqual([{ currency: 'usd', unitAmount: 4900, quantity: 1, ...product }]);
    expect(sent?.paymentIntentMetadata).toEqual({ organization_id: org, invoice_id: invoice });
    expect(sent?.params).not.toHaveProperty('subscription_data');

    const delivered = await standin.complete(link.id);
    expect(delivered.status).toBe(200);
    expect(lastSummary()).toEqual({
      kind: 'checkout_paid',
      eventId: delivered.event.id,
      created: expect.any(Number),
      sessionId: link.id,
      invoiceId: invoice,
      organizationId: org,
      customerId,
      subscriptionId: null,
      amountMinor: 4900n,
      currency: 'USD',
    });
    expect(await gateway.checkoutState(link.id)).toMatchObject({
      status: 'complete',
      paymentStatus: 'paid',
      amountMinor: 4900n,
      currency: 'USD',
      invoiceId: invoice,
      organizationId: org,
    });
  });

  it('starts a subscription whose renewals name the organization; the first invoice is the checkout', async () => {
    const customerId = await customer();
    const link = await gateway.checkoutForSubscription({
      customerId,
      organizationId: org,
      invoiceId: invoice,
      planName: 'Pro',
      amountMinor: 99_000n,
      currency: 'USD',
      interval: 'year',
      ...urls,
    });
    const sent = standin.sessions.get(link.id);
    expect(sent?.session).toMatchObject({
      mode: 'subscription',
      amount_total: 99_000,
      currency: 'usd',
      client_reference_id: invoice,
      metadata: { organization_id: org, invoice_id: invoice },
    });
    expect(sent?.lineItems[0]).toMatchObject({ unitAmount: 99_000, interval: 'year', productName: 'Pro' });
    expect(sent?.subscriptionMetadata).toEqual({ organization_id: org });
    expect(sent?.params).not.toHaveProperty('payment_intent_data');

    await standin.complete(link.id);
    const paid = lastSummary();
    expect(paid).toMatchObject({
      kind: 'checkout_paid',
      invoiceId: invoice,
      amountMinor: 99_000n,
      subscriptionId: expect.stringMatching(/^sub_/),
    });
    const subscriptionId = paid.kind === 'checkout_paid' ? (paid.subscriptionId as string) : '';

    const renewal = await standin.renew(subscriptionId);
    expect(renewal.status).toBe(200);
    expect(lastSummary()).toEqual({
      kind: 'renewal_paid',
      eventId: renewal.event.id,
      created: expect.any(Number),
      stripeInvoiceId: expect.stringMatching(/^in_/),
      subscriptionId,
      organizationId: org,
      customerId,
      amountMinor: 99_000n,
      currency: 'USD',
      billingReason: 'subscription_cycle',
      periodStart: expect.any(Number),
      periodEnd: expect.any(Number),
    });
    const { periodStart, periodEnd } = lastSummary() as { periodStart: number; periodEnd: number };
    expect(periodEnd - periodStart).toBeGreaterThanOrEqual(365 * 86_400);
    // Stripe's own invoice for the first period: already settled by checkout.session.completed.
    await standin.renew(subscriptionId, 99_000, { billingReason: 'subscription_create' });
    expect(lastSummary()).toMatchObject({ kind: 'ignored', type: 'invoice.paid' });
  });

  it('refuses amounts and currencies Stripe cannot take exactly, sending nothing', async () => {
    const refuse = (over: Partial<InvoiceCheckout>) => gateway.checkoutForInvoice(invoiceInput('cus_x', over));
    const before = standin.sessions.size;
    await expect(refuse({ amountMinor: 0n })).rejects.toThrow(RangeError);
    await expect(refuse({ amountMinor: 2n ** 53n })).rejects.toThrow(/too large/);
    await expect(refuse({ currency: 'usd' })).rejects.toThrow(/ISO 4217/);
    expect(standin.sessions.size).toBe(before);
  });

  it('links to the customer portal, and names a customer Stripe does not know', async () => {
    const url = await gateway.portalLink({ customerId: await customer(), returnUrl: 'https://marina.test/billing' });
    expect(url).toMatch(new RegExp(`^${standin.baseUrl}/portal/bps_`));
    expect(await (await fetch(url)).text()).toContain('href="https://marina.test/billing"');
    const missing = await gateway
      .portalLink({ customerId: 'cus_gone', returnUrl: 'https://marina.test/' })
      .catch((e) => e);
    expect(missing).toBeInstanceOf(StripeGatewayError);
    expect(missing).toMatchObject({ reason: 'invalid_request', statusCode: 400, stripeCode: 'resource_missing' });
  });

  it('turns every SDK failure into a short error: wrong key, 500, timeout, no connection', async () => {
    const wrongKey = 'sk_test_not_the_right_key_0000';
    const wrong = new StripeGateway(await createStripeClient({ secretKey: wrongKey, api: api() }));
    const auth = await wrong.portalLink({ customerId: 'cus_x', returnUrl: 'https://marina.test/' }).catch((e) => e);
    expect(auth).toMatchObject({ name: 'StripeGatewayError', reason: 'auth', statusCode: 401 });
    expect(auth.message).not.toContain('right_key');

    standin.failNext('http500');
    const failed = await customer().catch((e) => e);
    expect(failed).toMatchObject({ reason: 'stripe_error', statusCode: 500 });
    expect(failed.message).toMatch(/HTTP 500/);

    standin.failNext('hang');
    const impatient = new StripeGateway(
      await createStripeClient({ secretKey: SECRET_KEY, api: api(), timeoutMs: 300 }),
    );
    const started = Date.now();
    const timedOut = await impatient
      .ensureCustomer({ organizationId: org, name: 'a', email: 'a@a.test' })
      .catch((e) => e);
    expect(timedOut).toMatchObject({ reason: 'timeout', message: expect.stringMatching(/within 300 ms/) });
    expect(Date.now() - started).toBeLessThan(5_000);

    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await new Promise((resolve) => closed.once('listening', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = new StripeGateway(await createStripeClient({ secretKey: SECRET_KEY, api: { ...api(), port } }));
    expect(await nowhere.checkoutState('cs_test_x').catch((e) => e)).toMatchObject({ reason: 'network' });
    await expect(createStripeClient({ secretKey: SECRET_KEY, timeoutMs: 0 })).rejects.toThrow(RangeError);
  });

  it('serves a hosted page: a declined card delivers nothing, Pay delivers the webhook then redirects', async () => {
    const link = await gateway.checkoutForInvoice(invoiceInput(await customer(), { invoiceNumber: 'INV-2027-000124' }));
    const page = await (await fetch(link.url)).text();
    expect(page).toContain('USD 49.00');
    expect(page).toContain('>Pay</button>');
    const deliveries = standin.events.length;
    const declined = await (await fetch(`${link.url}/decline`, { method: 'POST' })).text();
    expect(declined).toContain('Your card was declined.');
    expect(standin.events.length).toBe(deliveries);
    expect((await gateway.checkoutState(link.id)).paymentStatus).toBe('unpaid');

    const paid = await fetch(`${link.url}/pay`, { method: 'POST', redirect: 'manual' });
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(`https://marina.test/paid?session=${link.id}`);
    expect(standin.events.at(-1)?.status).toBe(200);
    expect(lastSummary()).toMatchObject({ kind: 'checkout_paid', sessionId: link.id, amountMinor: 4900n });
    expect((await fetch(link.url)).status).toBe(410);
  });
});

describe('webhook verification', () => {
  const anyEvent = () => stripeEvent('customer.created', { id: 'cus_hook', object: 'customer' });

  it("accepts the stand-in's signed events and refuses a wrong secret, a changed body and an old timestamp", async () => {
    expect(await standin.send(anyEvent())).toBe(200);
    expect(lastSummary()).toMatchObject({ kind: 'ignored', type: 'customer.created', reason: null });
    refused.length = 0;
    expect(await standin.send(anyEvent(), { secret: 'whsec_forged' })).toBe(400);
    expect(await standin.send(anyEvent(), { tamper: (body) => body.replace('cus_hook', 'cus_evil') })).toBe(400);
    expect(await standin.send(anyEvent(), { timestamp: Math.floor(Date.now() / 1000) - 301 })).toBe(400);
    expect(refused).toEqual(['bad_signature', 'bad_signature', 'too_old']);
  });

  it('refuses a missing or malformed header, and a tolerance that would turn the age check off', async () => {
    expect(await standin.send(anyEvent())).toBe(200);
    const { payload, header, event } = lastDelivery();
    const verify = (h: string | undefined, tolerance?: number) =>
      verifyStripeWebhook(payload, h, WEBHOOK_SECRET, tolerance);
    expect((await verify(header)).id).toBe(event.id);
    for (const [h, reason] of [
      [undefined, 'missing_signature'],
      ['', 'missing_signature'],
      [header.replace(/^t=\d+/, 't=x'), 'malformed'],
    ] as const) {
      await expect(verify(h)).rejects.toThrow(expect.objectContaining({ name: 'StripeWebhookError', reason }));
    }
    for (const tolerance of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      await expect(verify(header, tolerance)).rejects.toThrow(/tolerance must be a positive/);
    expect(() => gateway.verifyWebhook(payload, header, WEBHOOK_SECRET, 0)).toThrow(RangeError);
    // An old delivery within a longer tolerance is still accepted: the age check compares, it is not fixed.
    await standin.send(anyEvent(), { timestamp: Math.floor(Date.now() / 1000) - 400 });
    const old = lastDelivery();
    await expect(verifyStripeWebhook(old.payload, old.header, WEBHOOK_SECRET, 600)).resolves.toBeDefined();
  });
});

describe('the stand-in on a test clock', () => {
  it("signs with the clock it is given, so Marina's endpoint on the same clock accepts it", async () => {
    const later = new Date(Date.now() + 40 * 86_400_000);
    const shifted = await startStripeStandin({
      secretKey: SECRET_KEY,
      webhookSecret: WEBHOOK_SECRET,
      clock: () => later,
    });
    try {
      await shifted.send(stripeEvent('customer.created', { id: 'cus_later' }));
      const { payload, header } = shifted.events[0] as Delivery;
      expect(header).toMatch(new RegExp(`^t=${Math.floor(later.getTime() / 1000)},v1=[0-9a-f]{64}$`));
      expect((await verifyStripeWebhook(payload, header, WEBHOOK_SECRET, 300, later.getTime())).type).toBe(
        'customer.created',
      );
      // Signed on the real time, the same webhook is 40 days old on the test clock.
      await standin.send(stripeEvent('customer.created', {}));
      const real = lastDelivery();
      await expect(
        verifyStripeWebhook(real.payload, real.header, WEBHOOK_SECRET, 300, later.getTime()),
      ).rejects.toThrow(expect.objectContaining({ reason: 'too_old' }));
    } finally {
      await shifted.close();
    }
  });
});

describe('summarizeEvent', () => {
  const session = async (metadata = true) => {
    const link = await gateway.checkoutForInvoice(
      invoiceInput(await customer(), { amountMinor: 1250n, currency: 'EUR' }),
    );
    const found = standin.sessions.get(link.id);
    if (!found) throw new Error('no session');
    if (!metadata) {
      found.session.metadata = {};
      found.session.client_reference_id = null;
    }
    return found.session;
  };

  it('waits for a delayed payment, and reports its failure or the expiry of an unpaid session', async () => {
    const pending = await session();
    await standin.complete(pending.id, { async: true });
    expect(lastSummary()).toMatchObject({
      kind: 'ignored',
      type: 'checkout.session.completed',
      reason: 'payment status unpaid',
    });
    await standin.send(stripeEvent('checkout.session.async_payment_succeeded', { ...pending, payment_status: 'paid' }));
    expect(lastSummary()).toMatchObject({
      kind: 'checkout_paid',
      amountMinor: 1250n,
      currency: 'EUR',
      invoiceId: invoice,
    });
    await standin.send(stripeEvent('checkout.session.async_payment_failed', pending));
    expect(lastSummary()).toMatchObject({
      kind: 'checkout_failed',
      reason: 'payment_failed',
      sessionId: pending.id,
      organizationId: org,
    });
    const expired = await session();
    const delivered = await standin.send(stripeEvent('checkout.session.expired', { ...expired, status: 'expired' }));
    expect(delivered).toBe(200);
    expect(lastSummary()).toEqual({
      kind: 'checkout_failed',
      eventId: expect.stringMatching(/^evt_/),
      created: expect.any(Number),
      sessionId: expired.id,
      invoiceId: invoice,
      organizationId: org,
      customerId: expired.customer,
      reason: 'expired',
    });
  });

  it('reports the amount Stripe states (not the one asked for) and the same event id on a redelivery', async () => {
    const asked = await session();
    const delivered = await standin.complete(asked.id, { amountTotal: 1 });
    expect(lastSummary()).toMatchObject({ kind: 'checkout_paid', amountMinor: 1n, currency: 'EUR' });
    expect(await standin.send(delivered.event)).toBe(200);
    expect(lastSummary()).toMatchObject({ kind: 'checkout_paid', eventId: delivered.event.id });
  });

  it("ignores sessions and invoices that are not Marina's, and a stated amount it cannot read", async () => {
    const foreign = await session(false);
    await standin.complete(foreign.id);
    expect(lastSummary()).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/not a Marina checkout/) });
    await standin.send(
      stripeEvent('invoice.paid', {
        id: 'in_manual',
        object: 'invoice',
        amount_paid: 500,
        currency: 'usd',
        parent: null,
      }),
    );
    expect(lastSummary()).toMatchObject({ kind: 'ignored', reason: 'not a subscription invoice' });
    const odd = await session();
    await standin.send(
      stripeEvent('checkout.session.completed', { ...odd, payment_status: 'paid', amount_total: 12.5 }),
    );
    expect(lastSummary()).toMatchObject({ kind: 'ignored', reason: 'the session has no amount or currency' });
  });
});

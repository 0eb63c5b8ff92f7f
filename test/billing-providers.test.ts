import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminBrowser,
  as,
  type Browser,
  createTestApp,
  memberBrowser,
  restartTestApp,
  signIn,
  type TestApp,
} from './helpers/app.js';
import { outboxCount } from './helpers/billing.js';
import { makeOrganization } from './helpers/factories.js';
import { freePort } from './helpers/process.js';
import { type PaynowStandin, startPaynowStandin } from './standin/paynow-server.js';
import { type StripeStandin, startStripeStandin, stripeEvent } from './standin/stripe-server.js';

/**
 * Marina's billing against the providers' named stand-ins on loopback (the real Stripe SDK; Marina's
 * own Paynow client): Marina listens, the stand-ins deliver webhooks and result callbacks to it as
 * the providers do. Tampering is refused, replays ignored, amounts and references checked against the
 * invoice, Paynow payments polled across a restart of Marina.
 */
const STRIPE_KEY = 'sk_test_marinaStandin0001';
const WEBHOOK_SECRET = 'whsec_marinaStandin0001';
const PAYNOW = {
  USD: { id: '21001', key: '3e9fed89-60e1-4ce5-ab6e-6b1eb2d4f977' },
  ZWG: { id: '21002', key: '7a1c2d3e-0000-4b5c-9d8e-1f2a3b4c5d6e' },
};
let t: TestApp;
let admin: Browser;
let stripe: StripeStandin;
let paynow: PaynowStandin;
let port: number;
let n = 0;
const call = (...args: Parameters<ReturnType<typeof as>>) => as(t, admin)(...args);

async function customer(currency = 'USD') {
  n += 1;
  const plan = await call('POST', '/api/v1/plans', {
    slug: `pay-${n}`,
    name: `Pro ${n}`,
    public: true,
    trialDays: 14,
    limits: {},
    prices: [{ currency, period: 'month', amountMinor: 2500 }],
  });
  expect(plan.statusCode, plan.body).toBe(201);
  const planId = plan.json<{ plan: { id: string } }>().plan.id;
  const organization = await makeOrganization(call, { slug: `payer${n}` });
  await t.db
    .transaction()
    .execute((trx) => t.services.subscriptions.start(trx, organization.id, planId, { trial: true }));
  const owner = as(t, await memberBrowser(t, admin, organization.slug, `owner@payer${n}.test`, 'owner'));
  const details = await owner('PUT', `/api/v1/organizations/${organization.id}/billing/details`, {
    name: `Payer ${n} Ltd`,
    addressLines: ['Harare'],
    country: 'ZW',
    taxId: null,
    email: `accounts@payer${n}.test`,
  });
  expect(details.statusCode, details.body).toBe(200);
  const checkout = await owner('POST', `/api/v1/organizations/${organization.id}/billing/checkout`, {
    planId,
    currency,
    period: 'month',
  });
  expect(checkout.statusCode, checkout.body).toBe(201);
  const invoice = checkout.json<{ invoice: { id: string; number: string; totalMinor: number } }>().invoice;
  return { organization, owner, invoice };
}

const invoiceStatus = async (id: string) =>
  (await t.db.selectFrom('invoices').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
const subscription = async (organizationId: string) =>
  (
    await t.db
      .selectFrom('subscriptions')
      .select('status')
      .where('organization_id', '=', organizationId)
      .executeTakeFirstOrThrow()
  ).status;
const anomalies = async (reference: string) =>
  (await t.db.selectFrom('billing_anomalies').select('kind').where('reference', '=', reference).execute()).map(
    (a) => a.kind,
  );
const mailCount = (organizationId: string, key: string) => outboxCount(t.db, organizationId, key);

/** Marina's poller's rounds, the clock moved between them, until the payment leaves `pending` (or 6 rounds). */
async function pollUntilSettled(paymentId: string): Promise<string> {
  for (let round = 0; round < 6; round++) {
    t.clock.set(new Date(t.clock.now().getTime() + 10_000));
    await t.services.billingTicker.poll();
    const { status } = await t.db
      .selectFrom('payments')
      .select('status')
      .where('id', '=', paymentId)
      .executeTakeFirstOrThrow();
    if (status !== 'pending') return status;
  }
  return 'pending';
}

async function listen() {
  await t.app.listen({ host: '127.0.0.1', port });
}

beforeAll(async () => {
  port = await freePort();
  stripe = await startStripeStandin({
    secretKey: STRIPE_KEY,
    webhookSecret: WEBHOOK_SECRET,
    webhookUrl: `http://127.0.0.1:${port}/api/v1/billing/webhooks/stripe`,
    clock: () => t.clock.now(),
  });
  paynow = await startPaynowStandin({
    integrations: {
      [PAYNOW.USD.id]: { key: PAYNOW.USD.key, currency: 'USD' },
      [PAYNOW.ZWG.id]: { key: PAYNOW.ZWG.key, currency: 'ZWG' },
    },
  });
  t = await createTestApp(
    { MARINA_PUBLIC_URL: `http://127.0.0.1:${port}` },
    {
      billingStandins: {
        stripeApi: { host: stripe.host, port: stripe.port, protocol: 'http' },
        paynowBaseUrl: paynow.baseUrl,
      },
    },
  );
  await listen();
  admin = await adminBrowser(t);
  expect(
    (await call('PUT', '/api/v1/billing/providers/stripe', { secretKey: STRIPE_KEY, webhookSecret: WEBHOOK_SECRET }))
      .statusCode,
  ).toBe(200);
  for (const currency of ['USD', 'ZWG'] as const) {
    const set = await call('PUT', `/api/v1/billing/providers/paynow:${currency}`, {
      integrationId: PAYNOW[currency].id,
      integrationKey: PAYNOW[currency].key,
    });
    expect(set.statusCode, set.body).toBe(200);
  }
});

afterAll(async () => {
  await t?.close();
  await stripe?.close();
  await paynow?.close();
});

it('keeps provider secrets sealed and never shows them', async () => {
  const stored = await t.db.selectFrom('billing_providers').select(['id', 'secret']).execute();
  for (const row of stored) {
    expect(row.secret).not.toContain(STRIPE_KEY);
    expect(row.secret).not.toContain(PAYNOW.USD.key);
  }
  const listed = (await call('GET', '/api/v1/billing/providers')).body;
  expect(listed).not.toContain(STRIPE_KEY);
  expect(listed).not.toContain(WEBHOOK_SECRET);
  expect(listed).not.toContain(PAYNOW.USD.key);
  const bad = await call('PUT', '/api/v1/billing/providers/stripe', {
    secretKey: 'not-a-key',
    webhookSecret: WEBHOOK_SECRET,
  });
  expect(bad.statusCode).toBe(400);
});

describe('Stripe', () => {
  it('pays the first invoice through Checkout: the webhook converts the trial; a replay changes nothing', async () => {
    const c = await customer();
    const pay = await c.owner('POST', `/api/v1/organizations/${c.organization.id}/invoices/${c.invoice.id}/pay`, {
      provider: 'stripe',
    });
    expect(pay.statusCode, pay.body).toBe(201);
    const { redirectUrl } = pay.json<{ redirectUrl: string }>();
    expect(redirectUrl.startsWith(stripe.baseUrl)).toBe(true);
    const session = [...stripe.sessions.values()].find((s) => s.session.metadata.invoice_id === c.invoice.id);
    expect(session?.session.mode).toBe('subscription');
    expect(session?.session.amount_total).toBe(c.invoice.totalMinor);
    // A declined card: nothing happens.
    stripe.decline(session?.session.id as string);
    expect(await invoiceStatus(c.invoice.id)).toBe('open');
    const delivery = await stripe.complete(session?.session.id as string);
    expect(delivery.status).toBe(200);
    expect(await invoiceStatus(c.invoice.id)).toBe('paid');
    expect(await subscription(c.organization.id)).toBe('active');
    const details = await t.db
      .selectFrom('billing_details')
      .selectAll()
      .where('organization_id', '=', c.organization.id)
      .executeTakeFirstOrThrow();
    expect(details.stripe_subscription_id).toMatch(/^sub_/);
    // Stripe retries the same event: it is recognised by its id.
    expect(await stripe.send(delivery.event)).toBe(200);
    expect(await mailCount(c.organization.id, 'payment_received')).toBe(1);
    // The customer portal.
    const portal = await c.owner('POST', `/api/v1/organizations/${c.organization.id}/billing/portal`);
    expect(portal.statusCode, portal.body).toBe(200);
    expect(portal.json<{ url: string }>().url.startsWith(stripe.baseUrl)).toBe(true);
  });

  it('refuses forged, tampered and stale webhooks with 400, and changes nothing', async () => {
    const c = await customer();
    await c.owner('POST', `/api/v1/organizations/${c.organization.id}/invoices/${c.invoice.id}/pay`, {
      provider: 'stripe',
    });
    const session = [...stripe.sessions.values()].find((s) => s.session.metadata.invoice_id === c.invoice.id);
    const paid = stripeEvent('checkout.session.completed', {
      ...session?.session,
      status: 'complete',
      payment_status: 'paid',
    });
    expect(await stripe.send(paid, { secret: 'whsec_someoneElse000' })).toBe(400);
    expect(
      await stripe.send(paid, {
        tamper: (body) => {
          const forged = body.replace(/"amount_total":\s*\d+/, '"amount_total":1');
          expect(forged).not.toBe(body);
          return forged;
        },
      }),
    ).toBe(400);
    expect(await stripe.send(paid, { timestamp: Math.floor(t.clock.now().getTime() / 1000) - 3600 })).toBe(400);
    const unsigned = await fetch(`http://127.0.0.1:${port}/api/v1/billing/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(paid),
    });
    expect(unsigned.status).toBe(400);
    expect(await invoiceStatus(c.invoice.id)).toBe('open');
    expect(await subscription(c.organization.id)).toBe('trialing');
    const recorded = await t.db
      .selectFrom('provider_events')
      .select('event_id')
      .where('event_id', '=', paid.id)
      .execute();
    expect(recorded).toHaveLength(0);
  });

  it('refuses an amount that does not match, and a session it never made, reporting both', async () => {
    const c = await customer();
    await c.owner('POST', `/api/v1/organizations/${c.organization.id}/invoices/${c.invoice.id}/pay`, {
      provider: 'stripe',
    });
    const session = [...stripe.sessions.values()].find((s) => s.session.metadata.invoice_id === c.invoice.id);
    const id = session?.session.id as string;
    expect((await stripe.complete(id, { amountTotal: 100 })).status).toBe(200);
    expect(await invoiceStatus(c.invoice.id)).toBe('open');
    expect(await anomalies(id)).toEqual(['amount_mismatch']);
    const stranger = stripeEvent('checkout.session.completed', {
      ...session?.session,
      id: 'cs_test_notMarinas0001',
      status: 'complete',
      payment_status: 'paid',
    });
    expect(await stripe.send(stranger)).toBe(200);
    expect(await anomalies('cs_test_notMarinas0001')).toEqual(['unknown_reference']);
  });

  it('takes the first period once whichever event comes first, then pays each renewal', async () => {
    const c = await customer();
    await c.owner('POST', `/api/v1/organizations/${c.organization.id}/invoices/${c.invoice.id}/pay`, {
      provider: 'stripe',
    });
    const session = [...stripe.sessions.values()].find((s) => s.session.metadata.invoice_id === c.invoice.id);
    const sessionId = session?.session.id as string;
    await stripe.complete(sessionId);
    const subId = stripe.sessions.get(sessionId)?.session.subscription as string;
    // Out of order: the subscription's first invoice, delivered late, pays nothing twice.
    expect((await stripe.renew(subId, c.invoice.totalMinor, { billingReason: 'subscription_create' })).status).toBe(
      200,
    );
    const paidCount = async () =>
      Number(
        (
          await t.db
            .selectFrom('invoices')
            .select(sql<string>`count(*)`.as('n'))
            .where('organization_id', '=', c.organization.id)
            .where('status', '=', 'paid')
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await paidCount()).toBe(1);
    // A month later Stripe charges the next period: Marina issues that period's invoice and settles it.
    const end = (
      await t.db
        .selectFrom('subscriptions')
        .select('current_period_end')
        .where('organization_id', '=', c.organization.id)
        .executeTakeFirstOrThrow()
    ).current_period_end as Date;
    t.clock.set(new Date(end.getTime() + 60_000));
    expect((await stripe.renew(subId, c.invoice.totalMinor)).status).toBe(200);
    expect(await paidCount()).toBe(2);
    const renewal = await t.db
      .selectFrom('invoices')
      .select(['status', 'reason'])
      .where('organization_id', '=', c.organization.id)
      .where('reason', '=', 'period')
      .execute();
    expect(renewal).toEqual([{ status: 'paid', reason: 'period' }]);
    t.clock.set(new Date());
    admin = await signIn(t.app, 'admin@example.com');
  });

  it('answers 502 with the provider’s words when Stripe fails, and charges nothing', async () => {
    const c = await customer();
    stripe.failNext('http500');
    const pay = await c.owner('POST', `/api/v1/organizations/${c.organization.id}/invoices/${c.invoice.id}/pay`, {
      provider: 'stripe',
    });
    expect(pay.statusCode, pay.body).toBe(502);
    expect(pay.json<{ error: { code: string } }>().error.code).toBe('MARINA_E_PAYMENT_PROVIDER');
    expect(await invoiceStatus(c.invoice.id)).toBe('open');
  });
});

describe('Paynow', () => {
  const pay = (c: Awaited<ReturnType<typeof customer>>, body: object) =>
    c.owner('POST', `/api/v1/organizations/${c.organization.id}/invoices/${c.invoice.id}/pay`, {
      provider: 'paynow',
      ...body,
    });

  it('takes EcoCash: instructions, then polled until paid', async () => {
    const c = await customer();
    const started = await pay(c, { method: 'ecocash', phone: '0771111111' });
    expect(started.statusCode, started.body).toBe(201);
    const { paymentId, instructions } = started.json<{ paymentId: string; instructions: string }>();
    expect(instructions.length).toBeGreaterThan(0);
    expect(await pollUntilSettled(paymentId)).toBe('paid');
    const state = await c.owner('GET', `/api/v1/organizations/${c.organization.id}/payments/${paymentId}`);
    expect(state.json()).toMatchObject({ status: 'paid', invoice: { status: 'paid' } });
    expect(await subscription(c.organization.id)).toBe('active');
  });

  it('keeps polling across a restart of Marina until a delayed payment is paid', async () => {
    const c = await customer();
    const started = await pay(c, { method: 'onemoney', phone: '+263 77 222 2222' });
    expect(started.statusCode, started.body).toBe(201);
    const { paymentId } = started.json<{ paymentId: string }>();
    const pollOnce = async () => {
      t.clock.set(new Date(t.clock.now().getTime() + 10_000));
      await t.services.billingTicker.poll();
    };
    await pollOnce();
    expect(await invoiceStatus(c.invoice.id)).toBe('open');
    await t.app.close();
    t = await restartTestApp(t);
    await listen();
    admin = await signIn(t.app, 'admin@example.com');
    expect(await pollUntilSettled(paymentId)).toBe('paid');
    expect(await invoiceStatus(c.invoice.id)).toBe('paid');
    const payment = await t.db
      .selectFrom('payments')
      .select('status')
      .where('id', '=', paymentId)
      .executeTakeFirstOrThrow();
    expect(payment.status).toBe('paid');
  });

  it('web checkout: the result callback is verified, confirmed by a poll, and counted once', async () => {
    const c = await customer();
    const started = await pay(c, { method: 'web' });
    expect(started.statusCode, started.body).toBe(201);
    expect(started.json<{ redirectUrl: string }>().redirectUrl.startsWith(paynow.baseUrl)).toBe(true);
    const payment = await t.db
      .selectFrom('payments')
      .selectAll()
      .where('invoice_id', '=', c.invoice.id)
      .executeTakeFirstOrThrow();
    // Tampered (amount, status): 400, nothing changes.
    for (const tamper of ['amount', 'status'] as const) {
      const forged = await paynow.settle(payment.reference, 'Paid', { tamper });
      expect(forged.status).toBe(400);
    }
    expect(await invoiceStatus(c.invoice.id)).toBe('open');
    const real = await paynow.settle(payment.reference, 'Paid');
    expect(real.status).toBe(200);
    expect(await invoiceStatus(c.invoice.id)).toBe('paid');
    const again = await paynow.settle(payment.reference, 'Paid');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ outcome: 'duplicate' });
    expect(await mailCount(c.organization.id, 'payment_received')).toBe(1);
  });

  it('refuses a callback for an unknown payment or another reference, reporting it', async () => {
    const unknownId = '00000000-0000-4000-8000-000000000001';
    const unknown = await paynow.postCallback(
      PAYNOW.USD.id,
      `http://127.0.0.1:${port}/api/v1/billing/paynow/result/${unknownId}`,
      [
        ['reference', 'INV-2099-000001-abcd'],
        ['amount', '1.00'],
        ['paynowreference', '999'],
        ['pollurl', `${paynow.baseUrl}/interface/returntransaction?guid=nothing`],
        ['status', 'Paid'],
      ],
    );
    expect(unknown.status).toBe(404);
    expect(await anomalies(unknownId)).toEqual(['unknown_reference']);
  });

  it('records a cancelled payment and a refused wallet; ZWG is Paynow only', async () => {
    const c = await customer();
    const cancelled = await pay(c, { method: 'ecocash', phone: '0773333333' });
    const { paymentId } = cancelled.json<{ paymentId: string }>();
    expect(await pollUntilSettled(paymentId)).toBe('cancelled');
    expect(
      (await c.owner('GET', `/api/v1/organizations/${c.organization.id}/payments/${paymentId}`)).json(),
    ).toMatchObject({ status: 'cancelled' });
    const broke = await pay(c, { method: 'ecocash', phone: '0774444444' });
    expect(broke.statusCode).toBe(502);
    expect(broke.body).toContain('Insufficient balance');
    expect(await invoiceStatus(c.invoice.id)).toBe('open');
    const zwg = await customer('ZWG');
    const byCard = await zwg.owner(
      'POST',
      `/api/v1/organizations/${zwg.organization.id}/invoices/${zwg.invoice.id}/pay`,
      { provider: 'stripe' },
    );
    expect(byCard.statusCode).toBe(400);
    const byPaynow = await zwg.owner(
      'POST',
      `/api/v1/organizations/${zwg.organization.id}/invoices/${zwg.invoice.id}/pay`,
      { provider: 'paynow', method: 'web' },
    );
    expect(byPaynow.statusCode, byPaynow.body).toBe(201);
    const zwgPayment = await t.db
      .selectFrom('payments')
      .select('reference')
      .where('invoice_id', '=', zwg.invoice.id)
      .executeTakeFirstOrThrow();
    expect(paynow.find(zwgPayment.reference).integrationId).toBe(PAYNOW.ZWG.id);
  });

  it('gives a payment up after its deadline', async () => {
    const c = await customer();
    const started = await pay(c, { method: 'ecocash', phone: '0779999999' });
    const { paymentId } = started.json<{ paymentId: string }>();
    t.clock.set(new Date(t.clock.now().getTime() + 61 * 60_000));
    await t.services.billingTicker.poll();
    expect(
      (await t.db.selectFrom('payments').select('status').where('id', '=', paymentId).executeTakeFirstOrThrow()).status,
    ).toBe('timed_out');
    expect(await invoiceStatus(c.invoice.id)).toBe('open');
  });
});

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueInvoice } from '../src/modules/billing/invoices.js';
import { DAY_MS } from '../src/modules/lifecycle/machine.js';
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
import { outboxCount, SELLER_SETTINGS } from './helpers/billing.js';
import { makeOrganization } from './helpers/factories.js';

/**
 * The books on real PostgreSQL and the test clock: gapless numbers, immutable invoices, tax, the
 * checkout's first invoice, a manual payment converting the trial, renewals, dunning to suspension
 * and back, credit notes, pro-rating, and a payment that does not match. Each test makes its own
 * organization; nothing depends on today's date.
 */
const START = new Date('2027-03-10T12:00:00Z');
let t: TestApp;
let admin: Browser;
let orgs = 0;
const call = (...args: Parameters<ReturnType<typeof as>>) => as(t, admin)(...args);

async function plan(prices: { currency: string; period: 'month' | 'year'; amountMinor: number }[], trialDays = 14) {
  orgs += 1;
  const made = await call('POST', '/api/v1/plans', {
    slug: `bill-${orgs}`,
    name: `Business ${orgs}`,
    public: true,
    trialDays,
    limits: {},
    prices,
  });
  expect(made.statusCode, made.body).toBe(201);
  return made.json<{ plan: { id: string; name: string } }>().plan;
}

/** A trialing customer on a plan of 20.00 USD a month (and 200.00 a year), with its owner signed in. */
async function customer(prices = [{ currency: 'USD', period: 'month' as const, amountMinor: 2000 }]) {
  const p = await plan([...prices, { currency: 'USD', period: 'year', amountMinor: 20000 }]);
  orgs += 1;
  const organization = await makeOrganization(call, { slug: `cust${orgs}` });
  await t.db
    .transaction()
    .execute((trx) => t.services.subscriptions.start(trx, organization.id, p.id, { trial: true }));
  const owner = await memberBrowser(t, admin, organization.slug, `owner@cust${orgs}.test`, 'owner');
  return { organization, plan: p, owner: as(t, owner) };
}

const status = async (organizationId: string) =>
  await t.db
    .selectFrom('subscriptions')
    .select(['status', 'suspended_kind'])
    .where('organization_id', '=', organizationId)
    .executeTakeFirstOrThrow();
/** Moves the test clock; the platform admin signs in again (a session does not outlive the clock's jumps). */
async function setClock(at: Date) {
  t.clock.set(at);
  admin = await signIn(t.app, 'admin@example.com');
}
const mails = (organizationId: string, key: string) => outboxCount(t.db, organizationId, key);

async function checkoutAndPayByHand(c: Awaited<ReturnType<typeof customer>>) {
  const checkout = await c.owner('POST', `/api/v1/organizations/${c.organization.id}/billing/checkout`, {
    planId: c.plan.id,
    currency: 'USD',
    period: 'month',
  });
  expect(checkout.statusCode, checkout.body).toBe(201);
  const invoice = checkout.json<{ invoice: { id: string; number: string; totalMinor: number } }>().invoice;
  const paid = await call('POST', `/api/v1/billing/invoices/${invoice.id}/mark-paid`, {
    note: 'Transfer 4411 received',
  });
  expect(paid.statusCode, paid.body).toBe(200);
  return invoice;
}

beforeAll(async () => {
  t = await createTestApp({}, { clockStart: START });
  admin = await adminBrowser(t);
  const seller = await call('PUT', '/api/v1/billing/settings', SELLER_SETTINGS);
  expect(seller.statusCode, seller.body).toBe(200);
  expect((await call('PUT', '/api/v1/billing/tax-rates/ZW', { name: 'VAT', rateBasisPoints: 1500 })).statusCode).toBe(
    200,
  );
});

afterAll(async () => {
  await t?.close();
});

describe('invoice numbers and immutability', () => {
  it('stays gapless under 20 concurrent issuances, with some rolled back', async () => {
    const { organization } = await customer();
    const issue = (fail: boolean) =>
      t.db
        .transaction()
        .execute(async (trx) => {
          const invoice = await issueInvoice(trx, {
            organizationId: organization.id,
            kind: 'invoice',
            reason: 'correction',
            currency: 'USD',
            at: new Date('2031-05-01T00:00:00Z'),
            lines: [{ description: 'Support hour', quantity: 1, unitMinor: 5000n }],
          });
          if (fail) throw new Error('rolled back on purpose');
          return invoice.number;
        })
        .catch(() => null);
    const numbers = (await Promise.all(Array.from({ length: 20 }, (_, i) => issue(i % 4 === 3)))).filter(
      (n): n is string => n !== null,
    );
    expect(numbers).toHaveLength(15);
    expect(numbers.sort()).toEqual(Array.from({ length: 15 }, (_, i) => `INV-2031-${String(i + 1).padStart(6, '0')}`));
  });

  it('refuses to change or delete an issued invoice, or to reopen a paid one', async () => {
    const c = await customer();
    const invoice = await checkoutAndPayByHand(c);
    await expect(sql`update invoices set total_minor = 1 where id = ${invoice.id}`.execute(t.db)).rejects.toThrow(
      /cannot change/,
    );
    await expect(
      sql`update invoice_lines set net_minor = 1 where invoice_id = ${invoice.id}`.execute(t.db),
    ).rejects.toThrow(/cannot change/);
    await expect(sql`delete from invoices where id = ${invoice.id}`.execute(t.db)).rejects.toThrow(/cannot be deleted/);
    await expect(
      sql`update invoices set status = 'open', paid_at = null where id = ${invoice.id}`.execute(t.db),
    ).rejects.toThrow(/stays paid/);
  });
});

describe('a trial pays its first invoice', () => {
  it('issues it taxed at the buyer country’s rate, converts the trial when paid, and serves its PDF', async () => {
    const c = await customer();
    const details = await c.owner('PUT', `/api/v1/organizations/${c.organization.id}/billing/details`, {
      name: 'Acme Trading (Pvt) Ltd',
      addressLines: ['5 Jason Moyo', 'Bulawayo'],
      country: 'ZW',
      taxId: 'BP-77',
      email: 'accounts@acme.test',
    });
    expect(details.statusCode, details.body).toBe(200);
    const invoice = await checkoutAndPayByHand(c);
    // 20.00 + 15 % VAT.
    expect(invoice.totalMinor).toBe(2300);
    expect(await status(c.organization.id)).toMatchObject({ status: 'active' });
    const view = (await c.owner('GET', `/api/v1/organizations/${c.organization.id}/billing`)).json<{
      subscription: { status: string; currentPeriodEnd: string };
      invoices: { number: string; status: string; paidVia: string; amountDueMinor: number }[];
    }>();
    expect(view.subscription.status).toBe('active');
    expect(view.subscription.currentPeriodEnd).toBe('2027-04-10T12:00:00.000Z');
    expect(view.invoices[0]).toMatchObject({
      number: invoice.number,
      status: 'paid',
      paidVia: 'manual',
      amountDueMinor: 0,
    });
    const pdf = await c.owner('GET', `/api/v1/organizations/${c.organization.id}/invoices/${invoice.id}/pdf`);
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    const audit = await t.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('action', '=', 'invoice.mark_paid')
      .where('target_id', '=', invoice.id)
      .execute();
    expect(audit).toHaveLength(1);
    expect(await mails(c.organization.id, 'payment_received')).toBe(1);
  });

  it('hides an organization’s invoices from another organization’s owner', async () => {
    const a = await customer();
    const b = await customer();
    const invoice = await checkoutAndPayByHand(a);
    for (const [method, url] of [
      ['GET', `/api/v1/organizations/${a.organization.id}/billing`],
      ['GET', `/api/v1/organizations/${a.organization.id}/invoices/${invoice.id}/pdf`],
      ['GET', `/api/v1/organizations/${b.organization.id}/invoices/${invoice.id}/pdf`],
      ['POST', `/api/v1/organizations/${b.organization.id}/invoices/${invoice.id}/pay`],
    ] as const) {
      const answer = await b.owner(method, url, method === 'POST' ? { provider: 'stripe' } : undefined);
      expect([403, 404], `${method} ${url}: ${answer.body}`).toContain(answer.statusCode);
    }
    expect((await b.owner('POST', `/api/v1/billing/invoices/${invoice.id}/mark-paid`, { note: 'x' })).statusCode).toBe(
      403,
    );
  });
});

describe('periods and dunning on the test clock', () => {
  it('renews once per period, goes past due, reminds once per step, suspends, and resumes on payment', async () => {
    await setClock(START);
    const c = await customer();
    await checkoutAndPayByHand(c);
    const orgId = c.organization.id;
    // The period ends a month later; two ticks (as after a restart) issue one invoice.
    await setClock(new Date('2027-04-10T12:00:01Z'));
    await t.services.billingTicker.tick();
    await t.services.billingTicker.tick();
    const periods = await t.db
      .selectFrom('invoices')
      .selectAll()
      .where('organization_id', '=', orgId)
      .where('reason', '=', 'period')
      .execute();
    expect(periods).toHaveLength(1);
    expect(await mails(orgId, 'invoice_issued')).toBe(1);
    const renewal = periods[0] as (typeof periods)[number];
    expect(renewal.period_start?.toISOString()).toBe('2027-04-10T12:00:00.000Z');
    expect(renewal.period_end?.toISOString()).toBe('2027-05-10T12:00:00.000Z');
    const due = renewal.due_at as Date;
    const at = (days: number) => new Date(due.getTime() + days * DAY_MS + 1000);
    await setClock(at(0));
    expect((await t.services.billingTicker.tick()).pastDue).toContain(renewal.number);
    expect((await status(orgId)).status).toBe('past_due');
    for (const days of [1, 7, 14]) {
      await setClock(at(days));
      await t.services.billingTicker.tick();
      // Marina restarted between two ticks: the step is not done again.
      t = await restartTestApp(t);
      await t.services.billingTicker.tick();
      expect(await mails(orgId, 'payment_reminder')).toBe([1, 7, 14].indexOf(days) + 1);
    }
    expect((await status(orgId)).status).toBe('past_due');
    await setClock(at(21));
    expect((await t.services.billingTicker.tick()).suspended).toContain(renewal.number);
    expect(await status(orgId)).toMatchObject({ status: 'suspended', suspended_kind: 'past_due' });
    expect(await mails(orgId, 'suspended')).toBe(1);
    // Paid: resumed at once.
    const paid = await call('POST', `/api/v1/billing/invoices/${renewal.id}/mark-paid`, {
      note: 'EFT 9981',
      reference: 'EFT-9981',
    });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(await status(orgId)).toMatchObject({ status: 'active', suspended_kind: null });
    expect(await mails(orgId, 'resumed')).toBe(1);
    await setClock(START);
  });

  it('sends only the latest of several reminders due together (after downtime)', async () => {
    await setClock(START);
    const c = await customer();
    await checkoutAndPayByHand(c);
    await setClock(new Date('2027-04-10T12:00:01Z'));
    await t.services.billingTicker.tick();
    const renewal = await t.db
      .selectFrom('invoices')
      .selectAll()
      .where('organization_id', '=', c.organization.id)
      .where('reason', '=', 'period')
      .executeTakeFirstOrThrow();
    await setClock(new Date((renewal.due_at as Date).getTime() + 8 * DAY_MS));
    await t.services.billingTicker.tick();
    expect(await mails(c.organization.id, 'payment_reminder')).toBe(1);
    const mail = await t.db
      .selectFrom('mail_outbox')
      .select('dedupe_key')
      .where('organization_id', '=', c.organization.id)
      .where('key', '=', 'payment_reminder')
      .executeTakeFirstOrThrow();
    expect(mail.dedupe_key).toContain(':7:');
    await setClock(START);
  });
});

describe('credit notes, pro-rating and payments that do not match', () => {
  it('credits an open invoice in full, and refuses a partial credit over what is left', async () => {
    await setClock(START);
    const c = await customer();
    const checkout = await c.owner('POST', `/api/v1/organizations/${c.organization.id}/billing/checkout`, {
      planId: c.plan.id,
      currency: 'USD',
      period: 'month',
    });
    const invoice = checkout.json<{ invoice: { id: string; totalMinor: number } }>().invoice;
    const tooMuch = await call('POST', `/api/v1/billing/invoices/${invoice.id}/credit`, {
      reason: 'Goodwill',
      amountMinor: 5000,
    });
    expect(tooMuch.statusCode, tooMuch.body).toBe(400);
    const part = await call('POST', `/api/v1/billing/invoices/${invoice.id}/credit`, {
      reason: 'Goodwill',
      amountMinor: 1000,
    });
    expect(part.statusCode, part.body).toBe(201);
    expect(part.json<{ creditNote: { number: string; totalMinor: number } }>().creditNote).toMatchObject({
      totalMinor: 1150,
    });
    expect(part.json<{ creditNote: { number: string } }>().creditNote.number).toMatch(/^CN-2027-\d{6}$/);
    const full = await call('POST', `/api/v1/billing/invoices/${invoice.id}/credit`, { reason: 'Cancelled order' });
    expect(full.statusCode, full.body).toBe(201);
    expect(full.json<{ creditNote: { totalMinor: number } }>().creditNote.totalMinor).toBe(1150);
    const after = await t.db
      .selectFrom('invoices')
      .select('status')
      .where('id', '=', invoice.id)
      .executeTakeFirstOrThrow();
    expect(after.status).toBe('credited');
  });

  it('pro-rates a plan change in the middle of a paid period', async () => {
    await setClock(START);
    const c = await customer();
    await checkoutAndPayByHand(c);
    const bigger = await plan([{ currency: 'USD', period: 'month', amountMinor: 5000 }]);
    // Half-way through March 10 – April 10 (31 days): 15.5 days left.
    await setClock(new Date(START.getTime() + 15.5 * DAY_MS));
    const changed = await call('POST', `/api/v1/organizations/${c.organization.id}/subscription/plan`, {
      planId: bigger.id,
    });
    expect(changed.statusCode, changed.body).toBe(200);
    const proration = await t.db
      .selectFrom('invoices')
      .selectAll()
      .where('organization_id', '=', c.organization.id)
      .where('reason', '=', 'proration')
      .executeTakeFirstOrThrow();
    const lines = await t.db
      .selectFrom('invoice_lines')
      .select(['description', 'net_minor'])
      .where('invoice_id', '=', proration.id)
      .orderBy('position')
      .execute();
    expect(lines.map((l) => Number(l.net_minor))).toEqual([2500, -1000]);
    expect(Number(proration.total_minor)).toBe(1725);
    await setClock(START);
  });

  it('refuses a payment of another amount or currency, keeps it for the admin, and changes nothing', async () => {
    await setClock(START);
    const c = await customer();
    const checkout = await c.owner('POST', `/api/v1/organizations/${c.organization.id}/billing/checkout`, {
      planId: c.plan.id,
      currency: 'USD',
      period: 'month',
    });
    const invoice = checkout.json<{ invoice: { id: string; number: string } }>().invoice;
    for (const [amountMinor, currency, kind] of [
      [100n, 'USD', 'amount_mismatch'],
      [2300n, 'ZWG', 'currency_mismatch'],
    ] as const) {
      const outcome = await t.db.transaction().execute((trx) =>
        t.services.ledger.applyPayment(trx, {
          invoiceId: invoice.id,
          provider: 'paynow',
          reference: `ref-${kind}`,
          amountMinor,
          currency,
          at: t.clock.now(),
        }),
      );
      expect(outcome).toMatchObject({ kind: 'refused', anomaly: kind });
    }
    expect(
      (await t.db.selectFrom('invoices').select('status').where('id', '=', invoice.id).executeTakeFirstOrThrow())
        .status,
    ).toBe('open');
    expect((await status(c.organization.id)).status).toBe('trialing');
    const overview = (await call('GET', '/api/v1/billing/overview')).json<{
      anomalies: { kind: string; invoiceId: string }[];
      open: { number: string }[];
    }>();
    expect(
      overview.anomalies
        .filter((a) => a.invoiceId === invoice.id)
        .map((a) => a.kind)
        .sort(),
    ).toEqual(['amount_mismatch', 'currency_mismatch']);
    expect(overview.open.map((o) => o.number)).toContain(invoice.number);
  });

  it('counts MRR per month from paid periods, a yearly price as a twelfth', async () => {
    await setClock(new Date('2029-01-15T00:00:00Z'));
    const c = await customer();
    const checkout = await c.owner('POST', `/api/v1/organizations/${c.organization.id}/billing/checkout`, {
      planId: c.plan.id,
      currency: 'USD',
      period: 'year',
    });
    const invoice = checkout.json<{ invoice: { id: string } }>().invoice;
    await call('POST', `/api/v1/billing/invoices/${invoice.id}/mark-paid`, { note: 'Yearly, by transfer' });
    await setClock(new Date('2029-06-01T00:00:00Z'));
    const overview = (await call('GET', '/api/v1/billing/overview')).json<{
      mrr: { month: string; currency: string; mrrMinor: number }[];
    }>();
    const june = overview.mrr.find((m) => m.month === '2029-06' && m.currency === 'USD');
    expect(june?.mrrMinor).toBe(1667);
    expect(overview.mrr.find((m) => m.month === '2028-12')).toBeUndefined();
    await setClock(START);
  });
});

it('bad settings and tax rates are refused and change nothing', async () => {
  const before = (await call('GET', '/api/v1/billing/settings')).json();
  const bad = await call('PUT', '/api/v1/billing/settings', {
    ...(before as { settings: object }).settings,
    reminderDays: [30],
    suspendAfterDays: 10,
  });
  expect(bad.statusCode).toBe(400);
  expect((await call('GET', '/api/v1/billing/settings')).json()).toEqual(before);
  expect((await call('PUT', '/api/v1/billing/tax-rates/zw', { name: 'VAT', rateBasisPoints: 1500 })).statusCode).toBe(
    400,
  );
  expect((await call('PUT', '/api/v1/billing/tax-rates/ZW', { name: 'VAT', rateBasisPoints: 10001 })).statusCode).toBe(
    400,
  );
});

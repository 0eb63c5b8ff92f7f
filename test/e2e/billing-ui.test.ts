import { readFile } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/modules/lifecycle/machine.js';
import { as, signIn } from '../helpers/app.js';
import {
  type BillingWorld,
  ECOCASH_TEST_NUMBER,
  invoicesOf,
  mailCount,
  shoot,
  signedInPage,
  startBillingWorld,
  subscriptionStatus,
  trialCustomer,
} from './billing-ui-support.js';

/**
 * Issue #20's "Done means" in Chromium, on a real PostgreSQL and the providers' named stand-ins:
 * a trial customer picks a paid plan and pays through Stripe's stand-in checkout (the signed
 * webhook arrives), another through Paynow's EcoCash flow (polled until paid); each sees the paid
 * invoice and downloads its PDF. A customer who does not pay goes past due on the test clock, is
 * reminded once per step, is suspended, pays and is resumed. The platform admin's page draws the
 * MRR and lists the open invoices, and records a bank transfer.
 */
let w: BillingWorld;

beforeAll(async () => {
  w = await startBillingWorld();
}, 120_000);

afterAll(async () => {
  await w?.close();
});

const invoiceRow = (page: Page, number: string) =>
  page.getByRole('table', { name: 'Invoices' }).locator(`tr[data-invoice="${number}"]`);
const statusBadge = (page: Page) => page.getByTestId('subscription-status');

/** The owner fills the billing details (Zimbabwe: 15 % VAT) and saves them. */
async function fillDetails(page: Page, name: string, email: string) {
  const form = page.getByRole('form', { name: 'Billing details' });
  await form.getByLabel('Legal name').fill(name);
  await form.getByLabel('Address').fill('5 Jason Moyo Ave\nBulawayo');
  await form.getByLabel('Country').fill('ZW');
  await form.getByLabel('Tax id').fill('BP-2001');
  await form.getByLabel('Billing email').fill(email);
  await form.getByRole('button', { name: 'Save details' }).click();
  await page.getByText('The billing details are saved.').waitFor();
}

/** Picks the Business plan, USD, monthly, and continues: the first invoice's pay dialog opens. */
async function checkout(page: Page): Promise<Locator> {
  const choose = page.getByRole('form', { name: 'Choose a paid plan' });
  await choose.getByLabel('Currency').selectOption('USD');
  await choose.getByText('Monthly', { exact: true }).click();
  await choose.getByRole('radio', { name: /Business/ }).check();
  expect(await choose.textContent()).toContain('Business, USD 20.00 a month before tax');
  await choose.getByRole('button', { name: 'Continue to payment' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByTestId('pay-options').waitFor();
  return dialog;
}

async function downloadStartsWithPdf(page: Page, number: string) {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    invoiceRow(page, number)
      .getByRole('link', { name: `Download PDF of ${number}` })
      .click(),
  ]);
  expect(download.suggestedFilename()).toBe(`${number}.pdf`);
  const bytes = await readFile((await download.path()) as string);
  expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
}

/** On the stand-in's hosted checkout: the amount asked, then Pay (the webhook is delivered before the redirect). */
async function payOnStripe(page: Page, amount: string, back: string) {
  await page.waitForURL((url) => url.href.startsWith(w.stripe.baseUrl));
  expect(await page.locator('#amount').textContent()).toContain(amount);
  await page.getByRole('button', { name: 'Pay', exact: true }).click();
  await page.waitForURL((url) => url.href.startsWith(back));
}

describe('billing in the browser', { timeout: 240_000 }, () => {
  let first: { organization: { id: string; slug: string } };
  let second: { organization: { id: string; slug: string } };

  it('(a) a trial customer fills the details, picks a plan, pays with Stripe, and downloads the PDF', async () => {
    const c = await trialCustomer(w, 'acme-pay', 'Acme Trading');
    first = c;
    const page = await signedInPage(w, c.email);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
    await page.waitForURL(`${w.baseUrl}/organizations/acme-pay/billing`);
    await expect.poll(() => statusBadge(page).getAttribute('data-status')).toBe('trialing');
    await page.getByTestId('billing-trial-end').waitFor();
    await page.getByText('No invoices yet').waitFor();
    await shoot(page, 'a1-trial');

    // The API's refusal shows at its field: a country is two letters.
    const form = page.getByRole('form', { name: 'Billing details' });
    await form.getByLabel('Legal name').fill('Acme Trading (Pvt) Ltd');
    await form.getByLabel('Country').fill('Z1');
    await form.getByRole('button', { name: 'Save details' }).click();
    const refused = form.locator('.field-invalid .field-error');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/^Country /);
    await shoot(page, 'a2-details-error');
    await fillDetails(page, 'Acme Trading (Pvt) Ltd', 'accounts@acme.test');
    const saved = await as(w.t, c.owner)('GET', `/api/v1/organizations/${c.organization.id}/billing`);
    expect(saved.json().details).toMatchObject({
      name: 'Acme Trading (Pvt) Ltd',
      addressLines: ['5 Jason Moyo Ave', 'Bulawayo'],
      country: 'ZW',
      taxId: 'BP-2001',
      email: 'accounts@acme.test',
      saved: true,
    });

    const dialog = await checkout(page);
    const [invoice] = await invoicesOf(w.t, c.organization.id);
    expect(invoice?.total_minor).toBe('2300'); // 20.00 + 15 % VAT
    const number = invoice?.number as string;
    expect(await dialog.getByRole('heading').textContent()).toBe(`Pay ${number}`);
    expect(await dialog.textContent()).toContain('USD 23.00 due.');
    await dialog.getByRole('button', { name: 'Pay on Paynow' }).waitFor();
    await shoot(page, 'a3-pay-dialog', false);
    await dialog.getByRole('button', { name: 'Pay by card (Stripe)' }).click();

    // A declined card first: nothing happens, the page says so; then Pay.
    await page.waitForURL((url) => url.href.startsWith(w.stripe.baseUrl));
    await shoot(page, 'a4-stripe-checkout');
    await page.getByRole('button', { name: 'Decline' }).click();
    await page.getByText('Your card was declined.').waitFor();
    expect((await invoicesOf(w.t, c.organization.id))[0]?.status).toBe('open');
    await payOnStripe(page, 'USD 23.00', `${w.baseUrl}/organizations/acme-pay/billing?paid=${invoice?.id}`);
    expect(w.stripe.events.at(-1)).toMatchObject({ status: 200, event: { type: 'checkout.session.completed' } });

    const returned = page.getByTestId('payment-return');
    await expect.poll(() => returned.getAttribute('data-state')).toBe('success');
    expect(await returned.textContent()).toContain(`${number} is paid`);
    await expect.poll(() => invoiceRow(page, number).getAttribute('data-status')).toBe('paid');
    await expect.poll(() => statusBadge(page).getAttribute('data-status')).toBe('active');
    expect(await invoiceRow(page, number).textContent()).toContain('USD 23.00');
    expect(await subscriptionStatus(w.t, c.organization.id)).toBe('active');
    // A paid plan has no plan chooser any more; it has Stripe's portal.
    expect(await page.getByRole('form', { name: 'Choose a paid plan' }).count()).toBe(0);
    await shoot(page, 'a5-paid');
    await downloadStartsWithPdf(page, number);

    await page.getByRole('button', { name: 'Manage cards (Stripe)' }).click();
    await page.getByRole('heading', { name: 'Customer portal' }).waitFor();
    await page.getByRole('link', { name: 'Return' }).click();
    await page.waitForURL(`${w.baseUrl}/organizations/acme-pay/billing`);
    await page.context().close();
  });

  it('(b) a second trial customer pays with EcoCash: instructions, polling, then paid', async () => {
    const c = await trialCustomer(w, 'zim-pay', 'Zim Traders');
    second = c;
    const page = await signedInPage(w, c.email);
    await page.goto(`${w.baseUrl}/organizations/zim-pay/billing`);
    await fillDetails(page, 'Zim Traders (Pvt) Ltd', 'accounts@zim.test');
    const dialog = await checkout(page);
    const [invoice] = await invoicesOf(w.t, c.organization.id);
    const number = invoice?.number as string;
    await dialog.getByLabel('Phone number').fill(ECOCASH_TEST_NUMBER);
    await dialog.getByRole('button', { name: 'EcoCash' }).click();
    const waiting = dialog.getByTestId('payment-waiting');
    await waiting.waitFor();
    expect(await waiting.textContent()).toContain(`on ${ECOCASH_TEST_NUMBER}`);
    expect(await waiting.getByRole('progressbar', { name: 'Waiting for the payment' }).count()).toBe(1);
    await shoot(page, 'b1-ecocash-waiting', false);
    // The page keeps asking (every 2 s) while nothing has changed.
    await page.waitForResponse((r) => r.url().includes(`/api/v1/organizations/${c.organization.id}/payments/`));
    expect(await invoicesOf(w.t, c.organization.id).then((i) => i[0]?.status)).toBe('open');

    // Marina's poller, on the test clock: the stand-in approves at its first poll and calls back.
    await expect
      .poll(
        async () => {
          w.t.clock.advanceMinutes(0.1);
          await w.t.services.billingTicker.poll();
          return (await invoicesOf(w.t, c.organization.id))[0]?.status;
        },
        { interval: 300 },
      )
      .toBe('paid');
    const result = dialog.locator('[data-payment-status="paid"]');
    await result.waitFor();
    expect(await result.textContent()).toContain(`Invoice ${number} is paid`);
    await shoot(page, 'b2-ecocash-paid', false);
    await result.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => invoiceRow(page, number).getAttribute('data-status')).toBe('paid');
    await expect.poll(() => statusBadge(page).getAttribute('data-status')).toBe('active');
    expect(await invoiceRow(page, number).textContent()).toContain('Paynow');
    const asked = [...w.paynow.transactions.values()].find((tx) => tx.phone === ECOCASH_TEST_NUMBER);
    expect(asked).toMatchObject({ kind: 'mobile', method: 'ecocash', amount: '23.00', status: 'Paid' });
    await downloadStartsWithPdf(page, number);
    await page.context().close();
  });

  it('(c) a customer who does not pay goes past due, is reminded, suspended, pays and is resumed', async () => {
    const c = await trialCustomer(w, 'late-pay', 'Late Payers');
    const owner = as(w.t, c.owner);
    const id = c.organization.id;
    // Converted by a bank transfer (the API): a month later the renewal is not paid.
    const checkout = await owner('POST', `/api/v1/organizations/${id}/billing/checkout`, {
      planId: w.plan.id,
      currency: 'USD',
      period: 'month',
    });
    expect(checkout.statusCode, checkout.body).toBe(201);
    const paid = await as(w.t, w.admin)('POST', `/api/v1/billing/invoices/${checkout.json().invoice.id}/mark-paid`, {
      note: 'EFT 1001',
    });
    expect(paid.statusCode, paid.body).toBe(200);
    const ends = await w.t.db
      .selectFrom('subscriptions')
      .select('current_period_end')
      .where('status', '=', 'active')
      .execute();
    const periodEnd = Math.max(...ends.map((s) => (s.current_period_end as Date).getTime()));

    w.t.clock.set(new Date(periodEnd + 60_000));
    await w.t.services.billingTicker.tick();
    // The Stripe customer's subscription pays its renewal (invoice.paid): it stays active.
    const subscriptionId = [...w.stripe.subscriptions.keys()][0] as string;
    expect((await w.stripe.renew(subscriptionId)).status).toBe(200);
    const renewal = (await invoicesOf(w.t, id)).find((i) => i.reason === 'period');
    if (!renewal?.due_at) throw new Error('the renewal was not issued, or has no due date');
    expect(renewal.status).toBe('open');
    const due = renewal.due_at.getTime();
    const at = (days: number) => new Date(due + days * DAY_MS + 1000);

    w.t.clock.set(at(0));
    expect((await w.t.services.billingTicker.tick()).pastDue).toContain(renewal.number);
    expect(await subscriptionStatus(w.t, id)).toBe('past_due');
    let page = await signedInPage(w, c.email);
    await page.goto(`${w.baseUrl}/organizations/late-pay/billing`);
    await expect.poll(() => statusBadge(page).getAttribute('data-status')).toBe('past_due');
    await expect.poll(() => invoiceRow(page, renewal.number).getAttribute('data-overdue')).toBe('true');
    await shoot(page, 'c1-past-due');
    await page.context().close();

    for (const [index, days] of [1, 7, 14].entries()) {
      w.t.clock.set(at(days));
      await w.t.services.billingTicker.tick();
      await w.t.services.billingTicker.tick(); // as after a restart: never mailed twice
      expect(await mailCount(w.t, id, 'payment_reminder')).toBe(index + 1);
    }
    const reminders = await w.t.db
      .selectFrom('mail_outbox')
      .select('dedupe_key')
      .where('organization_id', '=', id)
      .where('key', '=', 'payment_reminder')
      .execute();
    for (const days of [1, 7, 14])
      expect(
        reminders.filter((m) => m.dedupe_key?.includes(`:${days}:`)),
        `day ${days}`,
      ).toHaveLength(1);
    expect(await subscriptionStatus(w.t, id)).toBe('past_due');
    w.t.clock.set(at(21));
    expect((await w.t.services.billingTicker.tick()).suspended).toContain(renewal.number);
    expect(await subscriptionStatus(w.t, id)).toBe('suspended');
    expect(await mailCount(w.t, id, 'suspended')).toBe(1);
    expect(await mailCount(w.t, id, 'payment_reminder')).toBe(3);
    expect(await subscriptionStatus(w.t, first.organization.id)).toBe('active');

    // The session did not outlive the clock's jump: signed in again.
    page = await signedInPage(w, c.email);
    await page.goto(`${w.baseUrl}/organizations/late-pay/billing`);
    await expect.poll(() => statusBadge(page).getAttribute('data-status')).toBe('suspended');
    await page.getByTestId('suspended-banner').waitFor();
    const row = invoiceRow(page, renewal.number);
    expect(await row.getAttribute('data-overdue')).toBe('true');
    expect(await row.locator('[data-overdue="true"]').textContent()).toBe('Overdue');
    await shoot(page, 'c2-suspended');

    await row.getByRole('button', { name: `Pay ${renewal.number}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Pay by card (Stripe)' }).click();
    await payOnStripe(page, 'USD 23.00', `${w.baseUrl}/organizations/late-pay/billing?paid=${renewal.id}`);
    await expect.poll(() => page.getByTestId('payment-return').getAttribute('data-state')).toBe('success');
    await expect.poll(() => statusBadge(page).getAttribute('data-status')).toBe('active');
    await expect.poll(() => page.getByTestId('suspended-banner').count()).toBe(0);
    expect(await row.getAttribute('data-status')).toBe('paid');
    expect(await subscriptionStatus(w.t, id)).toBe('active');
    expect(await mailCount(w.t, id, 'resumed')).toBe(1);
    await shoot(page, 'c3-resumed');
    // On a phone: the page fits the width, the invoices as cards.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload(); // drawn for the phone from the start, not mid-way through the drawer's transition
    await statusBadge(page).waitFor();
    await expect
      .poll(() => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'))
      .toBeLessThanOrEqual(0);
    await shoot(page, 'c4-phone');
    await page.context().close();
  });

  it('(d) the platform admin sees the MRR chart and the open invoices, and records a bank transfer', async () => {
    const page = await signedInPage(w, 'admin@example.com');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
    await page.waitForURL(`${w.baseUrl}/billing`);
    // The API as the same admin sees it (signed in again: the clock jumped since beforeAll).
    const admin = as(w.t, await signIn(w.t.app, 'admin@example.com'));
    const overview = (await admin('GET', '/api/v1/billing/overview')).json<{
      mrr: { month: string; currency: string; mrrMinor: number }[];
      open: { number: string }[];
    }>();
    const chart = page.getByTestId('mrr-chart-USD');
    await chart.locator('canvas').first().waitFor();
    const latest = overview.mrr.filter((m) => m.currency === 'USD').at(-1);
    expect(Number(await chart.getAttribute('data-latest-minor'))).toBe(latest?.mrrMinor);
    expect(latest?.mrrMinor).toBeGreaterThan(0);

    // The Paynow customer's renewal was never paid: it is open and overdue here.
    const table = page.getByRole('table', { name: 'Open invoices' });
    const unpaid = (await invoicesOf(w.t, second.organization.id)).find((i) => i.status === 'open');
    const row = table.locator(`tr[data-invoice="${unpaid?.number}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-overdue')).toBe('true');
    expect(await row.textContent()).toContain('Zim Traders');
    expect(await table.locator('tbody tr').count()).toBe(overview.open.length);
    await shoot(page, 'd1-admin-overview');

    await row.getByRole('button', { name: `Mark ${unpaid?.number} paid` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Note').fill('EFT received 4411');
    await dialog.getByLabel('Reference').fill('CBZ-4411');
    await shoot(page, 'd2-mark-paid', false);
    await dialog.getByRole('button', { name: 'Mark paid' }).click();
    await page.getByText(`${unpaid?.number} is recorded as paid.`).waitFor();
    await expect.poll(() => row.count()).toBe(0);
    expect(await subscriptionStatus(w.t, second.organization.id)).toBe('active');
    const audit = await w.t.db
      .selectFrom('audit_events')
      .select('details')
      .where('action', '=', 'invoice.mark_paid')
      .where('target_id', '=', unpaid?.id as string)
      .execute();
    expect(JSON.stringify(audit[0]?.details)).toContain('CBZ-4411');

    // The other tabs: settings as stored, a tax rate typed in percent, providers without their secrets.
    await page.getByRole('tab', { name: 'Settings' }).click();
    await expect.poll(() => page.getByLabel('Seller name').inputValue()).toBe('Harare Hosting (Pvt) Ltd');
    expect(await page.getByLabel('Reminders (days after due)').inputValue()).toBe('1, 7, 14');
    await shoot(page, 'd3-settings');
    await page.getByRole('tab', { name: 'Tax rates' }).click();
    await page.getByRole('button', { name: 'Add tax rate' }).click();
    await page.getByRole('dialog').getByLabel('Country').fill('ZA');
    await page.getByRole('dialog').getByLabel('Rate (%)').fill('15.5');
    await page.getByRole('dialog').getByRole('button', { name: 'Save rate' }).click();
    await page.getByRole('table', { name: 'Tax rates' }).locator('tr[data-country="ZA"]').waitFor();
    const rates = await w.t.db.selectFrom('tax_rates').select(['country', 'rate_bp']).orderBy('country').execute();
    expect(rates).toEqual([
      { country: 'ZA', rate_bp: 1550 },
      { country: 'ZW', rate_bp: 1500 },
    ]);
    await shoot(page, 'd4-tax-rates');
    await page.getByRole('tab', { name: 'Payment providers' }).click();
    await page.getByRole('region', { name: 'Stripe' }).getByRole('switch', { name: 'Stripe enabled' }).waitFor();
    const html = await page.content();
    for (const secret of ['sk_test_billingUi', 'whsec_billingUi', '5b0d7c3e']) expect(html).not.toContain(secret);
    await shoot(page, 'd5-providers');
    expect(w.pageErrors).toEqual([]);
    await page.context().close();
  });
});

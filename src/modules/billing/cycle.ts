import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { PricePeriod } from '../../db/schema-selfservice.js';
import type { Clock } from '../../platform/clock.js';
import { MarinaError } from '../../platform/errors.js';
import type { Notices } from '../../platform/notices.js';
import { mailOwners, organizationFacts } from '../lifecycle/steps.js';
import type { PlanRow } from '../plans/limits.js';
import { amountDue, type InvoiceRow, issueInvoice } from './invoices.js';
import { billingUrl } from './ledger.js';
import { formatMoney, mulDivRound, taxOf } from './money.js';
import { day, periodEnd, remainingShare } from './periods.js';

export interface BillingCycleDeps {
  db: Db;
  clock: Clock;
  notices: Notices;
  publicUrl: string;
  logger: Logger;
}

/** A plan's price in a currency and period, in minor units; undefined when it is not sold so. */
export async function priceOf(
  db: Db,
  planId: string,
  currency: string,
  period: PricePeriod,
): Promise<bigint | undefined> {
  const row = await db
    .selectFrom('plan_prices')
    .select('amount_minor')
    .where('plan_id', '=', planId)
    .where('currency', '=', currency)
    .where('period', '=', period)
    .executeTakeFirst();
  return row ? BigInt(row.amount_minor) : undefined;
}

const periodWord = (period: PricePeriod) => (period === 'year' ? 'yearly' : 'monthly');
const MAX_CATCH_UP = 24;

/**
 * The subscription's billing cycle: the first invoice at checkout, one at each period start, and
 * the pro-rating of a plan change. Every step runs under the subscription's row lock, so two
 * tickers (or a restart mid-way) issue each invoice once.
 */
export class BillingCycle {
  constructor(private readonly deps: BillingCycleDeps) {}

  /**
   * The invoice a checkout pays: the first period of `plan` from now. An open first invoice for
   * the same plan, currency and period is given again (a customer who comes back to pay); one for
   * something else is credited in full first, so that only one first invoice is ever owed.
   */
  async firstInvoice(
    trx: Db,
    organizationId: string,
    plan: PlanRow,
    currency: string,
    period: PricePeriod,
  ): Promise<InvoiceRow> {
    const price = await priceOf(trx, plan.id, currency, period);
    if (price === undefined || price <= 0n)
      throw new MarinaError(
        'MARINA_E_VALIDATION',
        `Plan ${plan.name} is not sold ${periodWord(period)} in ${currency}.`,
        {
          field: 'currency',
        },
      );
    await lockSubscription(trx, organizationId);
    const open = await trx
      .selectFrom('invoices')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('reason', '=', 'first')
      .where('status', '=', 'open')
      .execute();
    const now = this.deps.clock.now();
    for (const invoice of open) {
      if (invoice.plan_id === plan.id && invoice.currency === currency && invoice.billing_period === period)
        return invoice;
      await creditInFull(trx, invoice, now, 'Replaced by another checkout');
    }
    const end = periodEnd(now, period);
    return issueInvoice(trx, {
      organizationId,
      kind: 'invoice',
      reason: 'first',
      currency,
      at: now,
      periodStart: now,
      periodEnd: end,
      planId: plan.id,
      billingPeriod: period,
      lines: [
        {
          description: `${plan.name}, ${periodWord(period)}: ${day(now)} to ${day(end)}`,
          quantity: 1,
          unitMinor: price,
        },
      ],
    });
  }

  /**
   * Issues every period invoice that came due up to `now` (catching up after downtime, at most two
   * years at once), advancing the subscription's period. Trials and suspended organizations are
   * not invoiced.
   */
  async renew(now: Date): Promise<string[]> {
    const due = await this.deps.db
      .selectFrom('subscriptions')
      .select('organization_id')
      .where('status', 'in', ['active', 'past_due'])
      .where('current_period_end', '<=', now)
      .where('currency', 'is not', null)
      .where('period', 'is not', null)
      .execute();
    const issued: string[] = [];
    for (const { organization_id } of due) {
      try {
        issued.push(...(await this.renewOne(organization_id, now)));
      } catch (error) {
        this.deps.logger.error({ err: error, organization: organization_id }, 'billing: renewal failed; next tick');
      }
    }
    return issued;
  }

  private async renewOne(organizationId: string, now: Date): Promise<string[]> {
    const issued = await this.deps.db.transaction().execute(async (trx) => {
      const sub = await lockSubscription(trx, organizationId);
      const numbers: string[] = [];
      if (!sub?.currency || !sub.period || !sub.current_period_end) return numbers;
      if (sub.status !== 'active' && sub.status !== 'past_due') return numbers;
      const plan = await trx
        .selectFrom('plans')
        .select(['id', 'name'])
        .where('id', '=', sub.plan_id)
        .executeTakeFirstOrThrow();
      let start = sub.current_period_end;
      for (let i = 0; i < MAX_CATCH_UP && start <= now; i++) {
        const end = periodEnd(start, sub.period);
        const price = await priceOf(trx, plan.id, sub.currency, sub.period);
        if (price === undefined) {
          this.deps.logger.warn(
            { organization: organizationId, plan: plan.name },
            'billing: the plan has no price for the subscription; not invoiced',
          );
        } else if (price > 0n) {
          const invoice = await issueInvoice(trx, {
            organizationId,
            kind: 'invoice',
            reason: 'period',
            currency: sub.currency,
            at: now,
            periodStart: start,
            periodEnd: end,
            planId: plan.id,
            billingPeriod: sub.period,
            lines: [
              {
                description: `${plan.name}, ${periodWord(sub.period)}: ${day(start)} to ${day(end)}`,
                quantity: 1,
                unitMinor: price,
              },
            ],
          });
          await this.mailIssued(trx, invoice);
          numbers.push(invoice.number);
        }
        await trx
          .updateTable('subscriptions')
          .set({ current_period_start: start, current_period_end: end, updated_at: now })
          .where('organization_id', '=', organizationId)
          .execute();
        start = end;
      }
      return numbers;
    });
    if (issued.length > 0) await this.deps.notices.drain().catch(() => undefined);
    return issued;
  }

  /**
   * A plan change inside a paid period: one invoice for the rest of the period on the new plan, less
   * the unused rest of the old one; when the old plan cost more, a credit note for the difference
   * against the period's invoice instead. Nothing when the subscription is not in a paid period.
   */
  async prorate(organizationId: string, from: PlanRow, to: PlanRow): Promise<InvoiceRow | undefined> {
    const now = this.deps.clock.now();
    const result = await this.deps.db.transaction().execute(async (trx) => {
      const sub = await lockSubscription(trx, organizationId);
      if (!sub?.currency || !sub.period || !sub.current_period_start || !sub.current_period_end) return undefined;
      if (sub.status !== 'active' && sub.status !== 'past_due') return undefined;
      const periodInvoice = await trx
        .selectFrom('invoices')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('kind', '=', 'invoice')
        .where('reason', 'in', ['first', 'period'])
        .where('period_start', '=', sub.current_period_start)
        .executeTakeFirst();
      const oldPrice = await priceOf(trx, from.id, sub.currency, sub.period);
      const newPrice = await priceOf(trx, to.id, sub.currency, sub.period);
      if (oldPrice === undefined || newPrice === undefined || !periodInvoice) return undefined;
      const { current_period_start: start, current_period_end: end } = sub;
      const unused = remainingShare(oldPrice, start, end, now);
      const remaining = remainingShare(newPrice, start, end, now);
      const span = `${day(now)} to ${day(end)}`;
      if (remaining === unused) return undefined;
      if (remaining > unused) {
        const invoice = await issueInvoice(trx, {
          organizationId,
          kind: 'invoice',
          reason: 'proration',
          currency: sub.currency,
          at: now,
          periodStart: now,
          periodEnd: end,
          planId: to.id,
          billingPeriod: sub.period,
          lines: [
            { description: `${to.name}, remaining time: ${span}`, quantity: 1, unitMinor: remaining },
            { description: `${from.name}, unused time: ${span}`, quantity: 1, unitMinor: -unused },
          ],
        });
        await this.mailIssued(trx, invoice);
        return invoice;
      }
      const line = {
        buyer: periodInvoice.buyer,
        taxName: (await firstLineTax(trx, periodInvoice.id)).tax_name,
        taxRateBasisPoints: (await firstLineTax(trx, periodInvoice.id)).tax_rate_bp,
      };
      return issueInvoice(trx, {
        organizationId,
        kind: 'credit_note',
        reason: 'proration',
        currency: sub.currency,
        at: now,
        periodStart: now,
        periodEnd: end,
        creditsInvoiceId: periodInvoice.id,
        copyFrom: line,
        lines: [
          {
            description: `Change from ${from.name} to ${to.name}: unused time less remaining time, ${span}`,
            quantity: 1,
            unitMinor: unused - remaining,
          },
        ],
      }).then(async (note) => {
        await settleIfCredited(trx, periodInvoice);
        return note;
      });
    });
    await this.deps.notices.drain().catch(() => undefined);
    return result;
  }

  async mailIssued(trx: Db, invoice: InvoiceRow): Promise<void> {
    const organization = await organizationFacts(trx, invoice.organization_id);
    if (!organization || !invoice.due_at) return;
    await mailOwners(trx, this.deps.notices, organization, {
      key: 'invoice_issued',
      stepKey: `issued:${invoice.id}`,
      portalUrl: this.deps.publicUrl,
      vars: {
        number: invoice.number,
        total: formatMoney(BigInt(invoice.total_minor), invoice.currency),
        due_at: invoice.due_at.toISOString(),
        url: billingUrl(this.deps.publicUrl, organization.slug),
      },
    });
  }
}

/** The subscription row, locked for the rest of the transaction (null-safe: an organization without one). */
export async function lockSubscription(trx: Db, organizationId: string) {
  return trx
    .selectFrom('subscriptions')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .forUpdate()
    .executeTakeFirst();
}

async function firstLineTax(db: Db, invoiceId: string) {
  return db
    .selectFrom('invoice_lines')
    .select(['tax_name', 'tax_rate_bp'])
    .where('invoice_id', '=', invoiceId)
    .orderBy('position')
    .executeTakeFirstOrThrow();
}

/** An open invoice whose credit notes cover it is no longer owed. */
export async function settleIfCredited(trx: Db, invoice: InvoiceRow): Promise<void> {
  if (invoice.status !== 'open') return;
  if ((await amountDue(trx, invoice)) <= 0n)
    await trx.updateTable('invoices').set({ status: 'credited' }).where('id', '=', invoice.id).execute();
}

/** A credit note for everything an open invoice still owes: its lines, its buyer, its tax. */
export async function creditInFull(trx: Db, invoice: InvoiceRow, at: Date, why: string): Promise<InvoiceRow> {
  const due = await amountDue(trx, invoice);
  const tax = await firstLineTax(trx, invoice.id);
  // The net that, taxed at the invoice's rate, gives back what is due (what is due already includes tax).
  const net = netForGross(due, tax.tax_rate_bp);
  const note = await issueInvoice(trx, {
    organizationId: invoice.organization_id,
    kind: 'credit_note',
    reason: 'correction',
    currency: invoice.currency,
    at,
    creditsInvoiceId: invoice.id,
    copyFrom: { buyer: invoice.buyer, taxName: tax.tax_name, taxRateBasisPoints: tax.tax_rate_bp },
    lines: [{ description: `${why}: ${invoice.number}`, quantity: 1, unitMinor: net }],
  });
  // Rounding of the tax may leave a cent either way; the books close only on an exact zero.
  await settleIfCredited(trx, invoice);
  return note;
}

/** The net whose gross at `rate` is exactly `gross`, when one exists (else the nearest below). */
export function netForGross(gross: bigint, rateBp: number): bigint {
  const guess = mulDivRound(gross, 10_000n, 10_000n + BigInt(rateBp));
  for (const net of [guess, guess - 1n, guess + 1n]) if (net + taxOf(net, rateBp) === gross) return net;
  return guess;
}

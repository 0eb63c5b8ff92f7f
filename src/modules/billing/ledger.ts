import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { AnomalyKind, PaymentProvider } from '../../db/schema-billing.js';
import type { Clock } from '../../platform/clock.js';
import type { Notices } from '../../platform/notices.js';
import type { Change, LifecycleService } from '../lifecycle/service.js';
import { mailOwners, organizationFacts } from '../lifecycle/steps.js';
import { amountDue, type InvoiceRow, providerName } from './invoices.js';
import { formatMoney } from './money.js';

export interface LedgerDeps {
  db: Db;
  clock: Clock;
  notices: Notices;
  lifecycle: Pick<LifecycleService, 'transition' | 'afterChange'>;
  publicUrl: string;
  logger: Logger;
}

/** A payment a provider (or a platform admin) reports for an invoice. */
export interface PaymentReport {
  invoiceId: string;
  provider: PaymentProvider;
  /** The provider's reference (the Stripe session, the Paynow reference, the admin's transfer reference). */
  reference: string;
  amountMinor: bigint;
  currency: string;
  at: Date;
  note?: string | null;
  /** The payments row the report settles, when there is one. */
  paymentId?: string;
}

export type PaymentOutcome =
  | { kind: 'applied'; invoice: InvoiceRow; change: Change | null }
  | { kind: 'duplicate' }
  | { kind: 'refused'; anomaly: AnomalyKind; message: string };

/** Keeps what a provider said that does not match the books, once per provider, kind and reference. */
export async function recordAnomaly(
  trx: Db,
  anomaly: {
    provider: string;
    kind: AnomalyKind;
    reference: string;
    invoiceId?: string | null;
    organizationId?: string | null;
    expected?: Record<string, unknown> | null;
    received: Record<string, unknown>;
    at: Date;
  },
): Promise<void> {
  await trx
    .insertInto('billing_anomalies')
    .values({
      provider: anomaly.provider,
      kind: anomaly.kind,
      reference: anomaly.reference,
      invoice_id: anomaly.invoiceId ?? null,
      organization_id: anomaly.organizationId ?? null,
      expected: anomaly.expected ? JSON.stringify(anomaly.expected) : null,
      received: JSON.stringify(anomaly.received),
      at: anomaly.at,
    })
    .onConflict((oc) => oc.columns(['provider', 'kind', 'reference']).doNothing())
    .execute();
}

/**
 * The books: a payment settles an invoice only for exactly what is due, in its currency; then the
 * subscription follows (a trial converts, a past-due or dunning-suspended organization resumes).
 */
export class Ledger {
  constructor(private readonly deps: LedgerDeps) {}

  /**
   * Applies a payment in the caller's transaction. A second report of a paid invoice changes nothing;
   * a wrong amount or currency changes nothing and is kept as an anomaly for the platform admin.
   */
  async applyPayment(trx: Db, report: PaymentReport): Promise<PaymentOutcome> {
    const invoice = await trx
      .selectFrom('invoices')
      .selectAll()
      .where('id', '=', report.invoiceId)
      .forUpdate()
      .executeTakeFirst();
    if (invoice?.kind !== 'invoice') {
      await recordAnomaly(trx, {
        provider: report.provider,
        kind: 'unknown_reference',
        reference: report.reference,
        received: { invoiceId: report.invoiceId, amountMinor: String(report.amountMinor), currency: report.currency },
        at: report.at,
      });
      return { kind: 'refused', anomaly: 'unknown_reference', message: 'No such invoice.' };
    }
    if (invoice.status === 'paid') return { kind: 'duplicate' };
    const due = await amountDue(trx, invoice);
    const received = { amountMinor: String(report.amountMinor), currency: report.currency };
    const expected = { amountMinor: String(due), currency: invoice.currency };
    const mismatch: AnomalyKind | null =
      report.currency !== invoice.currency
        ? 'currency_mismatch'
        : report.amountMinor !== due
          ? 'amount_mismatch'
          : null;
    if (mismatch || invoice.status !== 'open') {
      const kind = mismatch ?? 'amount_mismatch';
      await recordAnomaly(trx, {
        provider: report.provider,
        kind,
        reference: report.reference,
        invoiceId: invoice.id,
        organizationId: invoice.organization_id,
        expected,
        received,
        at: report.at,
      });
      this.deps.logger.warn({ invoice: invoice.number, expected, received }, 'billing: a payment does not match');
      return {
        kind: 'refused',
        anomaly: kind,
        message: `Invoice ${invoice.number} is not owed ${formatMoney(report.amountMinor, report.currency)}.`,
      };
    }
    const paid = await trx
      .updateTable('invoices')
      .set({
        status: 'paid',
        paid_at: report.at,
        paid_via: report.provider,
        paid_reference: report.reference,
        paid_note: report.note ?? null,
      })
      .where('id', '=', invoice.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (report.paymentId)
      await trx
        .updateTable('payments')
        .set({ status: 'paid', settled_at: report.at, updated_at: report.at, next_poll_at: null })
        .where('id', '=', report.paymentId)
        .execute();
    const change = await this.followSubscription(trx, paid, report.at);
    const organization = await organizationFacts(trx, invoice.organization_id);
    if (organization)
      await mailOwners(trx, this.deps.notices, organization, {
        key: 'payment_received',
        stepKey: `paid:${invoice.id}`,
        portalUrl: this.deps.publicUrl,
        vars: {
          number: invoice.number,
          total: formatMoney(due, invoice.currency),
          via: providerName(report.provider),
          url: billingUrl(this.deps.publicUrl, organization.slug),
        },
      });
    return { kind: 'applied', invoice: paid, change };
  }

  /** After a payment: the subscription's period and status. */
  private async followSubscription(trx: Db, invoice: InvoiceRow, at: Date): Promise<Change | null> {
    const sub = await trx
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', invoice.organization_id)
      .executeTakeFirst();
    if (!sub) return null;
    if (invoice.reason === 'first' && invoice.period_start && invoice.period_end)
      await trx
        .updateTable('subscriptions')
        .set({
          currency: invoice.currency,
          period: invoice.billing_period,
          current_period_start: invoice.period_start,
          current_period_end: invoice.period_end,
          updated_at: at,
        })
        .where('organization_id', '=', invoice.organization_id)
        .execute();
    const stillOverdue = await overdueCount(trx, invoice.organization_id, at);
    const resumes =
      sub.status === 'trialing' ||
      (sub.status === 'suspended' && (sub.suspended_kind === 'trial_ended' || sub.suspended_kind === 'past_due')) ||
      sub.status === 'past_due';
    if (!resumes || stillOverdue > 0) return null;
    return this.deps.lifecycle.transition(trx, invoice.organization_id, 'active', {
      cause: 'payment',
      key: `payment:${invoice.id}`,
      ctx: { actor: { kind: 'system', label: 'billing' }, ip: null },
      details: { invoice: invoice.number },
    });
  }

  /** After the transaction: a resumed organization's instances start again, the mails go. */
  async after(outcome: PaymentOutcome): Promise<void> {
    if (outcome.kind === 'applied') await this.deps.lifecycle.afterChange(outcome.change, 'invoice paid');
    else await this.deps.notices.drain().catch(() => undefined);
  }
}

/** Open invoices of the organization past their due date (what keeps it past due). */
export async function overdueCount(db: Db, organizationId: string, at: Date): Promise<number> {
  const row = await db
    .selectFrom('invoices')
    .select(sql<string>`count(*)`.as('n'))
    .where('organization_id', '=', organizationId)
    .where('kind', '=', 'invoice')
    .where('status', '=', 'open')
    .where('due_at', '<=', at)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export const billingUrl = (publicUrl: string, slug: string) =>
  `${publicUrl.replace(/\/$/, '')}/organizations/${encodeURIComponent(slug)}/billing`;

import type { Db } from '../../db/database.js';
import type { PricePeriod } from '../../db/schema-selfservice.js';
import { requireAccess } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { invalid, isUuid } from '../../platform/validation.js';
import type { PlanService } from '../plans/plans.js';
import type { SubscriptionService } from '../plans/subscriptions.js';
import type { BillingCycle } from './cycle.js';
import { amountDue, buyerOf, type InvoiceRow, invoiceDocument } from './invoices.js';
import { renderInvoicePdf } from './pdf.js';
import { readBillingSettings, validParty } from './settings.js';

export interface BillingAccountDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  plans: PlanService;
  subscriptions: Pick<SubscriptionService, 'changePlan'>;
  cycle: BillingCycle;
}

/** Which providers a currency is paid with: Paynow has integrations in USD and ZWG; Stripe takes USD. */
export function providersFor(currency: string, configured: Set<string>): ('stripe' | 'paynow')[] {
  const offered: ('stripe' | 'paynow')[] = [];
  if (currency !== 'ZWG' && configured.has('stripe')) offered.push('stripe');
  if (configured.has(`paynow:${currency}`)) offered.push('paynow');
  return offered;
}

export async function configuredProviders(db: Db): Promise<Set<string>> {
  const rows = await db.selectFrom('billing_providers').select('id').where('enabled', '=', true).execute();
  return new Set(rows.map((r) => r.id));
}

/** An invoice as the API shows it: amounts are whole minor units of `currency`. */
export async function invoiceView(db: Db, invoice: InvoiceRow, now: Date) {
  const due = await amountDue(db, invoice);
  const credits = invoice.credits_invoice_id
    ? await db.selectFrom('invoices').select('number').where('id', '=', invoice.credits_invoice_id).executeTakeFirst()
    : undefined;
  return {
    id: invoice.id,
    number: invoice.number,
    kind: invoice.kind,
    reason: invoice.reason,
    status: invoice.status,
    currency: invoice.currency,
    subtotalMinor: Number(invoice.subtotal_minor),
    taxMinor: Number(invoice.tax_minor),
    totalMinor: Number(invoice.total_minor),
    amountDueMinor: Number(due),
    issuedAt: invoice.issued_at.toISOString(),
    dueAt: invoice.due_at?.toISOString() ?? null,
    periodStart: invoice.period_start?.toISOString() ?? null,
    periodEnd: invoice.period_end?.toISOString() ?? null,
    paidAt: invoice.paid_at?.toISOString() ?? null,
    paidVia: invoice.paid_via,
    credits: credits?.number ?? null,
    overdue: invoice.status === 'open' && invoice.due_at !== null && invoice.due_at <= now,
  };
}

/** The customer's side: billing details, checkout of a paid plan, invoices and their PDFs. */
export class BillingAccount {
  constructor(private readonly deps: BillingAccountDeps) {}

  private async owner(ctx: RequestContext, organizationId: string) {
    if (!isUuid(organizationId)) throw notFound('Organization');
    return requireAccess(this.deps.db, ctx.actor, organizationId, 'owner');
  }

  async view(ctx: RequestContext, organizationId: string) {
    await this.owner(ctx, organizationId);
    const { db } = this.deps;
    const now = this.deps.clock.now();
    const settings = await readBillingSettings(db);
    const sub = await db
      .selectFrom('subscriptions')
      .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
      .select([
        'subscriptions.status',
        'subscriptions.currency',
        'subscriptions.period',
        'subscriptions.current_period_end',
        'subscriptions.trial_ends_at',
        'plans.id as plan_id',
        'plans.name as plan_name',
      ])
      .where('subscriptions.organization_id', '=', organizationId)
      .executeTakeFirst();
    const invoices = await db
      .selectFrom('invoices')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('issued_at', 'desc')
      .orderBy('number', 'desc')
      .limit(100)
      .execute();
    const details = await db
      .selectFrom('billing_details')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    const buyer = await buyerOf(db, organizationId, settings.seller.country);
    const configured = await configuredProviders(db);
    const currencies = ['USD', 'ZWG', 'EUR', 'GBP', 'ZAR'];
    return {
      subscription: sub
        ? {
            status: sub.status,
            planId: sub.plan_id,
            plan: sub.plan_name,
            currency: sub.currency,
            period: sub.period,
            currentPeriodEnd: sub.current_period_end?.toISOString() ?? null,
            trialEndsAt: sub.trial_ends_at?.toISOString() ?? null,
          }
        : null,
      details: { ...buyer, saved: Boolean(details?.saved_at), hasStripeCustomer: Boolean(details?.stripe_customer_id) },
      providers: Object.fromEntries(currencies.map((c) => [c, providersFor(c, configured)])),
      invoices: await Promise.all(invoices.map((invoice) => invoiceView(db, invoice, now))),
    };
  }

  async setDetails(ctx: RequestContext, organizationId: string, input: unknown) {
    await this.owner(ctx, organizationId);
    const party = validParty(input, 'details');
    const at = this.deps.clock.now();
    const address = party.addressLines.join('\n');
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('billing_details')
        .values({
          organization_id: organizationId,
          legal_name: party.name,
          address,
          country: party.country,
          tax_id: party.taxId,
          email: party.email,
          saved_at: at,
          updated_at: at,
        })
        .onConflict((oc) =>
          oc.column('organization_id').doUpdateSet({
            legal_name: party.name,
            address,
            country: party.country,
            tax_id: party.taxId,
            email: party.email,
            saved_at: at,
            updated_at: at,
          }),
        )
        .execute();
      const org = await trx
        .selectFrom('organizations')
        .select('slug')
        .where('id', '=', organizationId)
        .executeTakeFirstOrThrow();
      await this.deps.audit.record(
        ctx,
        {
          action: 'billing.update_details',
          organizationId,
          target: { type: 'billing', id: `details:${organizationId}`, label: org.slug },
          details: { country: party.country, taxId: party.taxId !== null },
        },
        trx,
      );
    });
    return party;
  }

  /**
   * A trial customer (or one whose trial ended) picks a paid plan, a currency and a period: the plan
   * is changed when it fits (the plans module's rules), and the first invoice is issued, to be paid
   * through a provider. Paying it converts the trial at once.
   */
  async checkout(
    ctx: RequestContext,
    organizationId: string,
    input: { planId?: unknown; currency?: unknown; period?: unknown },
  ) {
    await this.owner(ctx, organizationId);
    const { planId, currency, period } = input;
    if (typeof planId !== 'string' || !isUuid(planId)) throw invalid('planId', 'Pick a plan.');
    if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
      throw invalid('currency', 'A currency code such as USD or ZWG.');
    if (period !== 'month' && period !== 'year') throw invalid('period', 'Monthly (month) or yearly (year).');
    const plan = await this.deps.plans.row(planId).catch(() => {
      throw invalid('planId', 'No such plan.');
    });
    if (!plan.public || plan.archived_at) throw invalid('planId', `Plan ${plan.name} is not offered.`);
    const sub = await this.deps.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    const canCheckout =
      sub && (sub.status === 'trialing' || (sub.status === 'suspended' && sub.suspended_kind === 'trial_ended'));
    if (!canCheckout)
      throw new MarinaError(
        'MARINA_E_CONFLICT',
        'Only a trial is converted by checkout; your invoices are issued each period and paid below.',
      );
    if (sub.plan_id !== plan.id) {
      if (sub.status !== 'trialing')
        throw new MarinaError(
          'MARINA_E_CONFLICT',
          'Your trial has ended: pay for the plan you tried, or ask your provider to change it.',
        );
      await this.deps.subscriptions.changePlan(ctx, organizationId, plan.id);
    }
    const invoice = await this.deps.db
      .transaction()
      .execute((trx) => this.deps.cycle.firstInvoice(trx, organizationId, plan, currency, period as PricePeriod));
    return invoiceView(this.deps.db, invoice, this.deps.clock.now());
  }

  async invoice(ctx: RequestContext, organizationId: string, invoiceId: string): Promise<InvoiceRow> {
    await this.owner(ctx, organizationId);
    if (!isUuid(invoiceId)) throw notFound('Invoice');
    const invoice = await this.deps.db
      .selectFrom('invoices')
      .selectAll()
      .where('id', '=', invoiceId)
      .where('organization_id', '=', organizationId)
      .executeTakeFirst();
    if (!invoice) throw notFound('Invoice');
    return invoice;
  }

  async pdf(ctx: RequestContext, organizationId: string, invoiceId: string): Promise<{ number: string; pdf: Buffer }> {
    const invoice = await this.invoice(ctx, organizationId, invoiceId);
    return { number: invoice.number, pdf: await renderInvoicePdf(await invoiceDocument(this.deps.db, invoice)) };
  }
}

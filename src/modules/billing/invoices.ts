import type { Selectable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { InvoiceKind, InvoiceReason, InvoicesTable, PartyJson, TaxRatesTable } from '../../db/schema-billing.js';
import type { InvoiceDocument, TaxSummaryLine } from './document.js';
import { formatRate, taxOf } from './money.js';
import { nextNumber } from './numbering.js';
import { readBillingSettings } from './settings.js';

export type InvoiceRow = Selectable<InvoicesTable>;

export interface LineInput {
  description: string;
  quantity: number;
  unitMinor: bigint;
}

export interface IssueInput {
  organizationId: string;
  kind: InvoiceKind;
  reason: InvoiceReason;
  currency: string;
  lines: LineInput[];
  at: Date;
  periodStart?: Date | null;
  periodEnd?: Date | null;
  planId?: string | null;
  billingPeriod?: 'month' | 'year' | null;
  creditsInvoiceId?: string | null;
  /** A credit note is made out to the credited invoice's buyer, at its tax rate, whatever changed since. */
  copyFrom?: { buyer: PartyJson; taxName: string; taxRateBasisPoints: number };
}

const DAY_MS = 86_400_000;

/** Who the organization's invoices are made out to: its billing details, else its name. */
export async function buyerOf(db: Db, organizationId: string, sellerCountry: string): Promise<PartyJson> {
  const details = await db
    .selectFrom('billing_details')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .executeTakeFirst();
  if (details)
    return {
      name: details.legal_name,
      addressLines: details.address.split('\n').filter((line) => line.trim() !== ''),
      country: details.country,
      taxId: details.tax_id,
      email: details.email,
    };
  const organization = await db
    .selectFrom('organizations')
    .select('name')
    .where('id', '=', organizationId)
    .executeTakeFirstOrThrow();
  const owner = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('users.email')
    .where('memberships.organization_id', '=', organizationId)
    .where('memberships.role', '=', 'owner')
    .orderBy('users.email')
    .executeTakeFirst();
  // Without details the buyer is taken to be in the seller's country (domestic tax), and says so by its name only.
  return {
    name: organization.name,
    addressLines: [],
    country: sellerCountry,
    taxId: null,
    email: owner?.email ?? null,
  };
}

async function taxFor(db: Db, country: string): Promise<Pick<Selectable<TaxRatesTable>, 'name' | 'rate_bp'>> {
  const rate = await db
    .selectFrom('tax_rates')
    .select(['name', 'rate_bp'])
    .where('country', '=', country)
    .executeTakeFirst();
  return rate ?? { name: 'Tax', rate_bp: 0 };
}

/**
 * Issues an invoice or a credit note in the caller's transaction: numbered without gaps, taxed at
 * the buyer country's rate, seller and buyer copied in as they are now (an invoice never changes
 * when the details do), lines and totals in integer minor units.
 */
export async function issueInvoice(trx: Db, input: IssueInput): Promise<InvoiceRow> {
  if (input.lines.length === 0) throw new Error('an invoice needs at least one line');
  const settings = await readBillingSettings(trx);
  const buyer = input.copyFrom?.buyer ?? (await buyerOf(trx, input.organizationId, settings.seller.country));
  const tax = input.copyFrom
    ? { name: input.copyFrom.taxName, rate_bp: input.copyFrom.taxRateBasisPoints }
    : await taxFor(trx, buyer.country);
  const lines = input.lines.map((line, position) => {
    if (!Number.isInteger(line.quantity) || line.quantity <= 0) throw new Error('a line quantity is a whole number');
    const net = line.unitMinor * BigInt(line.quantity);
    return { ...line, position, net, tax: taxOf(net, tax.rate_bp) };
  });
  const subtotal = lines.reduce((sum, line) => sum + line.net, 0n);
  const taxTotal = lines.reduce((sum, line) => sum + line.tax, 0n);
  const number = await nextNumber(trx, input.kind, input.at.getUTCFullYear());
  const invoice = await trx
    .insertInto('invoices')
    .values({
      organization_id: input.organizationId,
      kind: input.kind,
      number,
      credits_invoice_id: input.creditsInvoiceId ?? null,
      reason: input.reason,
      plan_id: input.planId ?? null,
      billing_period: input.billingPeriod ?? null,
      currency: input.currency,
      period_start: input.periodStart ?? null,
      period_end: input.periodEnd ?? null,
      issued_at: input.at,
      due_at: input.kind === 'invoice' ? new Date(input.at.getTime() + settings.dueDays * DAY_MS) : null,
      seller: JSON.stringify(settings.seller),
      buyer: JSON.stringify(buyer),
      subtotal_minor: subtotal,
      tax_minor: taxTotal,
      total_minor: subtotal + taxTotal,
      footer: settings.footer,
      status: input.kind === 'credit_note' ? 'issued' : 'open',
      created_at: input.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('invoice_lines')
    .values(
      lines.map((line) => ({
        invoice_id: invoice.id,
        position: line.position,
        description: line.description,
        quantity: line.quantity,
        unit_minor: line.unitMinor,
        net_minor: line.net,
        tax_rate_bp: tax.rate_bp,
        tax_name: tax.name,
        tax_minor: line.tax,
      })),
    )
    .execute();
  return invoice;
}

/** What is still owed on an invoice: its total less the credit notes issued against it. */
export async function amountDue(db: Db, invoice: InvoiceRow): Promise<bigint> {
  if (invoice.kind !== 'invoice' || invoice.status !== 'open') return 0n;
  const credited = await db
    .selectFrom('invoices')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('total_minor'), eb.val('0')).as('sum'))
    .where('credits_invoice_id', '=', invoice.id)
    .executeTakeFirstOrThrow();
  return BigInt(invoice.total_minor) - BigInt(credited.sum);
}

const PROVIDER_NAMES: Record<string, string> = { stripe: 'Stripe', paynow: 'Paynow', manual: 'bank transfer' };
export const providerName = (via: string | null) => PROVIDER_NAMES[via ?? ''] ?? via ?? '';

/** The invoice as its PDF prints it. */
export async function invoiceDocument(db: Db, invoice: InvoiceRow): Promise<InvoiceDocument> {
  const lines = await db
    .selectFrom('invoice_lines')
    .selectAll()
    .where('invoice_id', '=', invoice.id)
    .orderBy('position')
    .execute();
  const credits = invoice.credits_invoice_id
    ? await db.selectFrom('invoices').select('number').where('id', '=', invoice.credits_invoice_id).executeTakeFirst()
    : undefined;
  const taxes = new Map<string, TaxSummaryLine>();
  for (const line of lines) {
    const key = `${line.tax_name}/${line.tax_rate_bp}`;
    const entry = taxes.get(key) ?? {
      label: `${line.tax_name} ${formatRate(line.tax_rate_bp)}`,
      rateBasisPoints: line.tax_rate_bp,
      netMinor: 0n,
      taxMinor: 0n,
    };
    entry.netMinor += BigInt(line.net_minor);
    entry.taxMinor += BigInt(line.tax_minor);
    taxes.set(key, entry);
  }
  return {
    kind: invoice.kind,
    number: invoice.number,
    credits: credits?.number ?? null,
    issuedAt: invoice.issued_at,
    dueAt: invoice.due_at,
    periodStart: invoice.period_start,
    periodEnd: invoice.period_end,
    currency: invoice.currency,
    seller: invoice.seller,
    buyer: invoice.buyer,
    lines: lines.map((line) => ({
      description: line.description,
      quantity: line.quantity,
      unitMinor: BigInt(line.unit_minor),
      netMinor: BigInt(line.net_minor),
      taxRateBasisPoints: line.tax_rate_bp,
      taxMinor: BigInt(line.tax_minor),
    })),
    taxes: [...taxes.values()],
    subtotalMinor: BigInt(invoice.subtotal_minor),
    taxMinor: BigInt(invoice.tax_minor),
    totalMinor: BigInt(invoice.total_minor),
    paid: invoice.paid_at ? { at: invoice.paid_at, via: providerName(invoice.paid_via) } : null,
    footer: invoice.footer,
  };
}

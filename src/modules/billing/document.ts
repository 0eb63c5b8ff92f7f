/**
 * An issued invoice or credit note as it is printed: everything its PDF shows, read from the
 * immutable rows (src/modules/billing/invoices.ts). Amounts are minor units of `currency`.
 */

export interface Party {
  name: string;
  /** Street, city, postcode: lines as entered. */
  addressLines: string[];
  /** ISO 3166-1 alpha-2. */
  country: string;
  taxId: string | null;
  email: string | null;
}

export interface DocumentLine {
  description: string;
  /** Whole units (a plan for one period is 1). */
  quantity: number;
  unitMinor: bigint;
  /** quantity × unit, before tax. Negative on a pro-rating credit line. */
  netMinor: bigint;
  taxRateBasisPoints: number;
  taxMinor: bigint;
}

export interface TaxSummaryLine {
  /** "VAT 15 %". */
  label: string;
  rateBasisPoints: number;
  netMinor: bigint;
  taxMinor: bigint;
}

export interface InvoiceDocument {
  kind: 'invoice' | 'credit_note';
  /** INV-2027-000123 or CN-2027-000004. */
  number: string;
  /** The invoice a credit note corrects. */
  credits: string | null;
  issuedAt: Date;
  dueAt: Date | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  currency: string;
  seller: Party;
  buyer: Party;
  lines: DocumentLine[];
  taxes: TaxSummaryLine[];
  subtotalMinor: bigint;
  taxMinor: bigint;
  totalMinor: bigint;
  /** Set once paid: "Paid on 2027-01-04 by Stripe". */
  paid: { at: Date; via: string } | null;
  /** Free text at the foot (payment terms, the seller's bank details). */
  footer: string;
}

import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;
/** bigint columns: pg returns a string (exact); written as bigint, number or string. */
type Minor = ColumnType<string, bigint | number | string, bigint | number | string>;
type Json<T> = ColumnType<T, string, string>;

/** Tax per buyer country (0029). */
export interface TaxRatesTable {
  country: string;
  name: string;
  rate_bp: number;
  updated_at: Timestamp;
}

/** Who an organization's invoices are made out to (0029). */
export interface BillingDetailsTable {
  organization_id: string;
  legal_name: string;
  address: Defaulted<string>;
  country: string;
  tax_id: Optional<string>;
  email: Optional<string>;
  saved_at: NullableTimestamp;
  stripe_customer_id: Optional<string>;
  stripe_subscription_id: Optional<string>;
  updated_at: Timestamp;
}

export type BillingProviderId = 'stripe' | 'paynow:USD' | 'paynow:ZWG';

/** A payment provider's credentials (0029); `secret` is sealed to its row. */
export interface BillingProvidersTable {
  id: BillingProviderId;
  public_config: Json<Record<string, unknown>>;
  secret: string;
  enabled: Defaulted<boolean>;
  updated_at: Timestamp;
}

export interface InvoiceSequencesTable {
  kind: string;
  year: number;
  last: number;
}

/** As printed on the invoice (src/modules/billing/document.ts Party). */
export interface PartyJson {
  name: string;
  addressLines: string[];
  country: string;
  taxId: string | null;
  email: string | null;
}

export type InvoiceKind = 'invoice' | 'credit_note';
export type InvoiceStatus = 'open' | 'paid' | 'credited' | 'issued';
export type InvoiceReason = 'first' | 'period' | 'proration' | 'correction';

/** An issued invoice or credit note (0029): immutable but for its status and payment (a trigger). */
export interface InvoicesTable {
  id: Generated<string>;
  organization_id: string;
  kind: InvoiceKind;
  number: string;
  credits_invoice_id: Optional<string>;
  reason: InvoiceReason;
  plan_id: Optional<string>;
  billing_period: Optional<'month' | 'year'>;
  currency: string;
  period_start: NullableTimestamp;
  period_end: NullableTimestamp;
  issued_at: Timestamp;
  due_at: NullableTimestamp;
  seller: Json<PartyJson>;
  buyer: Json<PartyJson>;
  subtotal_minor: Minor;
  tax_minor: Minor;
  total_minor: Minor;
  footer: Defaulted<string>;
  status: InvoiceStatus;
  paid_at: NullableTimestamp;
  paid_via: Optional<string>;
  paid_reference: Optional<string>;
  paid_note: Optional<string>;
  created_at: Timestamp;
}

export interface InvoiceLinesTable {
  invoice_id: string;
  position: number;
  description: string;
  quantity: number;
  unit_minor: Minor;
  net_minor: Minor;
  tax_rate_bp: number;
  tax_name: string;
  tax_minor: Minor;
}

export type PaymentProvider = 'stripe' | 'paynow' | 'manual';
export type PaymentStatus = 'pending' | 'paid' | 'cancelled' | 'failed' | 'timed_out';

/** One attempt to pay an invoice (0029). */
export interface PaymentsTable {
  id: Generated<string>;
  invoice_id: string;
  organization_id: string;
  provider: PaymentProvider;
  method: string;
  reference: string;
  provider_reference: Optional<string>;
  poll_url: Optional<string>;
  amount_minor: Minor;
  currency: string;
  status: PaymentStatus;
  error: Optional<string>;
  next_poll_at: NullableTimestamp;
  expires_at: NullableTimestamp;
  settled_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ProviderEventsTable {
  provider: string;
  event_id: string;
  type: string;
  outcome: string;
  received_at: Timestamp;
}

export type AnomalyKind = 'amount_mismatch' | 'currency_mismatch' | 'unknown_reference';

export interface BillingAnomaliesTable {
  id: Generated<string>;
  provider: string;
  kind: AnomalyKind;
  reference: string;
  invoice_id: Optional<string>;
  organization_id: Optional<string>;
  expected: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  received: Json<Record<string, unknown>>;
  at: Timestamp;
}

export interface BillingTables {
  tax_rates: TaxRatesTable;
  billing_details: BillingDetailsTable;
  billing_providers: BillingProvidersTable;
  invoice_sequences: InvoiceSequencesTable;
  invoices: InvoicesTable;
  invoice_lines: InvoiceLinesTable;
  payments: PaymentsTable;
  provider_events: ProviderEventsTable;
  billing_anomalies: BillingAnomaliesTable;
}

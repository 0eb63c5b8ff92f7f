import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { InvoiceKind } from '../../db/schema-billing.js';

const PREFIX: Record<InvoiceKind, string> = { invoice: 'INV', credit_note: 'CN' };

/**
 * The next number of its kind and year, in the caller's transaction: INV-2027-000123. The upsert
 * holds the sequence row's lock until the issuing transaction ends, so concurrent issuances wait in
 * line, and a transaction that rolls back gives its number back: no gaps, no duplicates.
 */
export async function nextNumber(trx: Db, kind: InvoiceKind, year: number): Promise<string> {
  const row = await sql<{ last: number }>`
    INSERT INTO invoice_sequences (kind, year, last) VALUES (${kind}, ${year}, 1)
    ON CONFLICT (kind, year) DO UPDATE SET last = invoice_sequences.last + 1
    RETURNING last`.execute(trx);
  const last = row.rows[0]?.last;
  if (last === undefined) throw new Error('invoice numbering: the sequence returned no row');
  return `${PREFIX[kind]}-${year}-${String(last).padStart(6, '0')}`;
}

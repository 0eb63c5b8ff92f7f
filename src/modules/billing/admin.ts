import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError, notFound } from '../../platform/errors.js';
import { invalid, isUuid } from '../../platform/validation.js';
import { saveSetting } from '../settings/setting-rows.js';
import { creditInFull, settleIfCredited } from './cycle.js';
import { amountDue, type InvoiceRow, issueInvoice } from './invoices.js';
import type { Ledger } from './ledger.js';
import { BILLING_SETTINGS_KEY, type BillingSettings, readBillingSettings, validBillingSettings } from './settings.js';

export interface BillingAdminDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  ledger: Ledger;
}

const NOTE_MAX = 500;

/** The platform admin's side of the books: manual payments, credit notes, settings, tax rates. */
export class BillingAdmin {
  constructor(private readonly deps: BillingAdminDeps) {}

  private async invoice(id: string, db: Db = this.deps.db): Promise<InvoiceRow> {
    if (!isUuid(id)) throw notFound('Invoice');
    const invoice = await db.selectFrom('invoices').selectAll().where('id', '=', id).executeTakeFirst();
    if (!invoice) throw notFound('Invoice');
    return invoice;
  }

  /** A bank transfer recorded by hand: for exactly what is due, with the admin's note, audited. */
  async markPaid(
    ctx: RequestContext,
    invoiceId: string,
    input: { note: unknown; reference?: unknown },
  ): Promise<InvoiceRow> {
    requirePlatformAdmin(ctx.actor);
    const note = typeof input.note === 'string' ? input.note.trim() : '';
    if (note === '' || note.length > NOTE_MAX)
      throw invalid('note', `Say how it was paid, in 1 to ${NOTE_MAX} characters.`);
    const reference =
      typeof input.reference === 'string' && input.reference.trim() !== ''
        ? input.reference.trim().slice(0, 100)
        : null;
    const invoice = await this.invoice(invoiceId);
    if (invoice.kind !== 'invoice' || invoice.status !== 'open')
      throw new MarinaError(
        'MARINA_E_CONFLICT',
        `Invoice ${invoice.number} is ${invoice.status}: only an open invoice is paid.`,
      );
    const at = this.deps.clock.now();
    const outcome = await this.deps.db.transaction().execute(async (trx) => {
      const due = await amountDue(trx, invoice);
      const result = await this.deps.ledger.applyPayment(trx, {
        invoiceId: invoice.id,
        provider: 'manual',
        reference: reference ?? `manual:${invoice.number}`,
        amountMinor: due,
        currency: invoice.currency,
        at,
        note,
      });
      if (result.kind !== 'applied')
        throw new MarinaError('MARINA_E_CONFLICT', `Invoice ${invoice.number} was paid meanwhile.`);
      await this.deps.audit.record(
        ctx,
        {
          action: 'invoice.mark_paid',
          organizationId: invoice.organization_id,
          target: { type: 'invoice', id: invoice.id, label: invoice.number },
          details: { note, reference, amountMinor: String(due), currency: invoice.currency },
        },
        trx,
      );
      return result;
    });
    await this.deps.ledger.after(outcome);
    return this.invoice(invoice.id);
  }

  /**
   * A credit note against an invoice: in full (everything still owed), or a part with a reason.
   * The credited invoice never changes; an open one owes less, and nothing once fully credited.
   */
  async credit(
    ctx: RequestContext,
    invoiceId: string,
    input: { reason: unknown; amountMinor?: unknown },
  ): Promise<InvoiceRow> {
    requirePlatformAdmin(ctx.actor);
    const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
    if (reason === '' || reason.length > 200)
      throw invalid('reason', 'Say why, in 1 to 200 characters: it is printed on the credit note.');
    const at = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const invoice = await trx
        .selectFrom('invoices')
        .selectAll()
        .where('id', '=', invoiceId)
        .forUpdate()
        .executeTakeFirst();
      if (!invoice || !isUuid(invoiceId)) throw notFound('Invoice');
      if (invoice.kind !== 'invoice')
        throw new MarinaError('MARINA_E_CONFLICT', 'A credit note is not credited again.');
      const credited = await trx
        .selectFrom('invoices')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('total_minor'), eb.val('0')).as('sum'))
        .where('credits_invoice_id', '=', invoice.id)
        .executeTakeFirstOrThrow();
      const left = BigInt(invoice.total_minor) - BigInt(credited.sum);
      let note: InvoiceRow;
      if (input.amountMinor === undefined || input.amountMinor === null) {
        if (invoice.status !== 'open')
          throw invalid('amountMinor', 'A paid invoice is credited by an amount (what is refunded).');
        note = await creditInFull(trx, invoice, at, reason);
      } else {
        const amount = input.amountMinor;
        if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0)
          throw invalid('amountMinor', 'A whole, positive number of minor units, before tax.');
        const tax = await trx
          .selectFrom('invoice_lines')
          .select(['tax_name', 'tax_rate_bp'])
          .where('invoice_id', '=', invoice.id)
          .orderBy('position')
          .executeTakeFirstOrThrow();
        note = await issueInvoice(trx, {
          organizationId: invoice.organization_id,
          kind: 'credit_note',
          reason: 'correction',
          currency: invoice.currency,
          at,
          creditsInvoiceId: invoice.id,
          copyFrom: { buyer: invoice.buyer, taxName: tax.tax_name, taxRateBasisPoints: tax.tax_rate_bp },
          lines: [{ description: `${reason}: ${invoice.number}`, quantity: 1, unitMinor: BigInt(amount) }],
        });
        // Checked after the tax is known: a credit note never exceeds what the invoice has left.
        if (BigInt(note.total_minor) > left)
          throw invalid('amountMinor', `At most what ${invoice.number} has left to credit, tax included.`);
        await settleIfCredited(trx, invoice);
      }
      await this.deps.audit.record(
        ctx,
        {
          action: 'invoice.credit',
          organizationId: invoice.organization_id,
          target: { type: 'invoice', id: invoice.id, label: invoice.number },
          details: { creditNote: note.number, reason, totalMinor: note.total_minor, currency: note.currency },
        },
        trx,
      );
      return note;
    });
  }

  async settings(actor: Actor): Promise<BillingSettings> {
    requirePlatformAdmin(actor);
    return readBillingSettings(this.deps.db);
  }

  async setSettings(ctx: RequestContext, input: unknown): Promise<BillingSettings> {
    requirePlatformAdmin(ctx.actor);
    const settings = validBillingSettings(input);
    const before = await readBillingSettings(this.deps.db);
    await saveSetting(this.deps, ctx, BILLING_SETTINGS_KEY, settings, {
      action: 'billing.update_settings',
      target: { type: 'billing', id: BILLING_SETTINGS_KEY, label: 'Billing settings' },
      details: { before, after: settings },
    });
    return settings;
  }

  async taxRates(actor: Actor) {
    requirePlatformAdmin(actor);
    const rows = await this.deps.db.selectFrom('tax_rates').selectAll().orderBy('country').execute();
    return rows.map((r) => ({ country: r.country, name: r.name, rateBasisPoints: r.rate_bp }));
  }

  /** Sets a country's rate (basis points, 1500 = 15 %); a null rate removes it (taxed at 0). */
  async setTaxRate(ctx: RequestContext, country: string, input: { name?: unknown; rateBasisPoints?: unknown } | null) {
    requirePlatformAdmin(ctx.actor);
    if (!/^[A-Z]{2}$/.test(country))
      throw invalid('country', 'A country is an ISO 3166 code of two upper-case letters.');
    const at = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      if (input === null) {
        await trx.deleteFrom('tax_rates').where('country', '=', country).execute();
      } else {
        const { name, rateBasisPoints: rate } = input;
        if (typeof name !== 'string' || name.trim() === '' || name.length > 40)
          throw invalid('name', 'A name like VAT, of 1 to 40 characters.');
        if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 0 || rate > 10_000)
          throw invalid('rateBasisPoints', 'A rate in basis points, from 0 to 10000 (1500 is 15 %).');
        await trx
          .insertInto('tax_rates')
          .values({ country, name: name.trim(), rate_bp: rate, updated_at: at })
          .onConflict((oc) => oc.column('country').doUpdateSet({ name: name.trim(), rate_bp: rate, updated_at: at }))
          .execute();
      }
      await this.deps.audit.record(
        ctx,
        {
          action: 'billing.set_tax_rate',
          target: { type: 'billing', id: `tax:${country}`, label: `Tax rate ${country}` },
          details: input === null ? { removed: true } : { name: input.name, rateBasisPoints: input.rateBasisPoints },
        },
        trx,
      );
    });
    return this.taxRates(ctx.actor);
  }

  /** What the platform admin watches: MRR per month and currency, open and overdue invoices, anomalies. */
  async overview(actor: Actor, months = 12) {
    requirePlatformAdmin(actor);
    const now = this.deps.clock.now();
    const mrr = await sql<{ month: string; currency: string; mrr: string }>`
      WITH months AS (
        SELECT generate_series(date_trunc('month', ${now}::timestamptz AT TIME ZONE 'UTC') - make_interval(months => ${months - 1}),
                               date_trunc('month', ${now}::timestamptz AT TIME ZONE 'UTC'), interval '1 month') AS m
      )
      SELECT to_char(months.m, 'YYYY-MM') AS month, i.currency,
             sum(CASE WHEN i.billing_period = 'year' THEN round(i.subtotal_minor::numeric / 12) ELSE i.subtotal_minor END)::text AS mrr
      FROM months
      JOIN invoices i ON i.kind = 'invoice' AND i.reason IN ('first', 'period') AND i.status = 'paid'
        -- The periods in force at one instant of the month (its last, or now for this month): a
        -- renewal month does not count the ending and the starting period twice.
        AND i.period_start <= least((months.m + interval '1 month') AT TIME ZONE 'UTC' - interval '1 millisecond', ${now}::timestamptz)
        AND i.period_end > least((months.m + interval '1 month') AT TIME ZONE 'UTC' - interval '1 millisecond', ${now}::timestamptz)
      GROUP BY months.m, i.currency
      ORDER BY months.m, i.currency`.execute(this.deps.db);
    const open = await this.deps.db
      .selectFrom('invoices')
      .innerJoin('organizations', 'organizations.id', 'invoices.organization_id')
      .select([
        'invoices.id',
        'invoices.number',
        'invoices.currency',
        'invoices.total_minor',
        'invoices.issued_at',
        'invoices.due_at',
        'organizations.slug',
        'organizations.name',
      ])
      .select(
        sql<string>`invoices.total_minor - coalesce((select sum(c.total_minor) from invoices c where c.credits_invoice_id = invoices.id), 0)`.as(
          'due',
        ),
      )
      .where('invoices.kind', '=', 'invoice')
      .where('invoices.status', '=', 'open')
      .orderBy('invoices.due_at')
      .limit(200)
      .execute();
    const anomalies = await this.deps.db
      .selectFrom('billing_anomalies')
      .selectAll()
      .orderBy('at', 'desc')
      .limit(100)
      .execute();
    return {
      mrr: mrr.rows.map((r) => ({ month: r.month, currency: r.currency, mrrMinor: Number(r.mrr) })),
      open: open.map((i) => ({
        id: i.id,
        number: i.number,
        organization: { slug: i.slug, name: i.name },
        currency: i.currency,
        totalMinor: Number(i.total_minor),
        amountDueMinor: Number(i.due),
        issuedAt: i.issued_at.toISOString(),
        dueAt: i.due_at?.toISOString() ?? null,
        overdue: i.due_at !== null && i.due_at <= now,
      })),
      anomalies: anomalies.map((a) => ({
        id: a.id,
        provider: a.provider,
        kind: a.kind,
        reference: a.reference,
        invoiceId: a.invoice_id,
        expected: a.expected,
        received: a.received,
        at: a.at.toISOString(),
      })),
    };
  }
}

import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Tax per buyer country, set by the platform admin; a country without a row is taxed at 0.
  await db.schema
    .createTable('tax_rates')
    .addColumn('country', sql`char(2)`, (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('rate_bp', 'integer', (c) => c.notNull().check(sql`rate_bp BETWEEN 0 AND 10000`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Who an organization's invoices are made out to, and its customer at Stripe.
  await db.schema
    .createTable('billing_details')
    .addColumn('organization_id', 'uuid', (c) => c.primaryKey().references('organizations.id').onDelete('cascade'))
    .addColumn('legal_name', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('country', sql`char(2)`, (c) => c.notNull())
    .addColumn('tax_id', 'text')
    .addColumn('email', 'text')
    // Set when an owner saved the details; a row made only to remember the Stripe customer has none.
    .addColumn('saved_at', 'timestamptz')
    .addColumn('stripe_customer_id', 'text')
    .addColumn('stripe_subscription_id', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Provider credentials: 'stripe', 'paynow:USD', 'paynow:ZWG' (Paynow has one integration per currency).
  await db.schema
    .createTable('billing_providers')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id IN ('stripe', 'paynow:USD', 'paynow:ZWG')`))
    .addColumn('public_config', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // The last number given per kind and year: the row lock is what keeps numbering gapless.
  await db.schema
    .createTable('invoice_sequences')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('year', 'integer', (c) => c.notNull())
    .addColumn('last', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('invoice_sequences_pk', ['kind', 'year'])
    .execute();

  await db.schema
    .createTable('invoices')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('invoice', 'credit_note')`))
    .addColumn('number', 'text', (c) => c.notNull().unique())
    .addColumn('credits_invoice_id', 'uuid', (c) => c.references('invoices.id'))
    // period | proration | first (the first period, paid at checkout) | correction (a credit note)
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'uuid', (c) => c.references('plans.id'))
    .addColumn('billing_period', 'text', (c) => c.check(sql`billing_period IN ('month', 'year')`))
    .addColumn('currency', sql`char(3)`, (c) => c.notNull())
    .addColumn('period_start', 'timestamptz')
    .addColumn('period_end', 'timestamptz')
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('due_at', 'timestamptz')
    .addColumn('seller', 'jsonb', (c) => c.notNull())
    .addColumn('buyer', 'jsonb', (c) => c.notNull())
    .addColumn('subtotal_minor', 'bigint', (c) => c.notNull())
    .addColumn('tax_minor', 'bigint', (c) => c.notNull())
    .addColumn('total_minor', 'bigint', (c) => c.notNull())
    .addColumn('footer', 'text', (c) => c.notNull().defaultTo(''))
    // The only columns that change after issue: open → paid, or open → credited by a credit note.
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('open', 'paid', 'credited', 'issued')`))
    .addColumn('paid_at', 'timestamptz')
    .addColumn('paid_via', 'text')
    .addColumn('paid_reference', 'text')
    .addColumn('paid_note', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('invoices_paid_has_date', sql`(status = 'paid') = (paid_at IS NOT NULL)`)
    .addCheckConstraint(
      'invoices_credit_notes',
      sql`(kind = 'credit_note') = (credits_invoice_id IS NOT NULL) AND (kind = 'invoice' OR status = 'issued')`,
    )
    .execute();
  await db.schema
    .createIndex('invoices_organization')
    .on('invoices')
    .columns(['organization_id', 'issued_at'])
    .execute();
  await db.schema
    .createIndex('invoices_open')
    .on('invoices')
    .columns(['due_at'])
    .where(sql.ref('status'), '=', 'open')
    .execute();
  // One invoice per organization and period start: two tickers issuing at once make one.
  await sql`CREATE UNIQUE INDEX invoices_one_per_period ON invoices (organization_id, period_start)
    WHERE kind = 'invoice' AND reason IN ('period', 'first')`.execute(db);

  await db.schema
    .createTable('invoice_lines')
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('invoices.id'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull())
    .addColumn('unit_minor', 'bigint', (c) => c.notNull())
    .addColumn('net_minor', 'bigint', (c) => c.notNull())
    .addColumn('tax_rate_bp', 'integer', (c) => c.notNull())
    .addColumn('tax_name', 'text', (c) => c.notNull())
    .addColumn('tax_minor', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('invoice_lines_pk', ['invoice_id', 'position'])
    .execute();

  // Issued is final: the database itself refuses to change what an invoice says or to delete it.
  await sql`CREATE FUNCTION marina_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'an issued % cannot be deleted', TG_TABLE_NAME USING ERRCODE = 'check_violation';
      END IF;
      IF TG_TABLE_NAME = 'invoice_lines' THEN
        RAISE EXCEPTION 'an issued invoice line cannot change' USING ERRCODE = 'check_violation';
      END IF;
      IF (NEW.id, NEW.organization_id, NEW.kind, NEW.number, NEW.credits_invoice_id, NEW.reason, NEW.plan_id,
          NEW.billing_period, NEW.currency, NEW.period_start, NEW.period_end, NEW.issued_at, NEW.due_at, NEW.seller,
          NEW.buyer, NEW.subtotal_minor, NEW.tax_minor, NEW.total_minor, NEW.footer)
         IS DISTINCT FROM
         (OLD.id, OLD.organization_id, OLD.kind, OLD.number, OLD.credits_invoice_id, OLD.reason, OLD.plan_id,
          OLD.billing_period, OLD.currency, OLD.period_start, OLD.period_end, OLD.issued_at, OLD.due_at, OLD.seller,
          OLD.buyer, OLD.subtotal_minor, OLD.tax_minor, OLD.total_minor, OLD.footer) THEN
        RAISE EXCEPTION 'an issued invoice cannot change; issue a credit note' USING ERRCODE = 'check_violation';
      END IF;
      IF OLD.status <> 'open' AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'a % invoice stays %', OLD.status, OLD.status USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$`.execute(db);
  await sql`CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION marina_invoice_immutable()`.execute(db);
  await sql`CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION marina_invoice_immutable()`.execute(db);

  // One attempt to pay an invoice through a provider; pending ones are polled (Paynow) across restarts.
  await db.schema
    .createTable('payments')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('invoices.id'))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id'))
    .addColumn('provider', 'text', (c) => c.notNull().check(sql`provider IN ('stripe', 'paynow', 'manual')`))
    .addColumn('method', 'text', (c) => c.notNull())
    // Marina's reference at the provider: the Paynow reference, the Stripe checkout session.
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('provider_reference', 'text')
    .addColumn('poll_url', 'text')
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', sql`char(3)`, (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status IN ('pending', 'paid', 'cancelled', 'failed', 'timed_out')`),
    )
    .addColumn('error', 'text')
    .addColumn('next_poll_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('settled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('payments_reference', ['provider', 'reference'])
    .execute();
  await db.schema.createIndex('payments_invoice').on('payments').column('invoice_id').execute();
  await db.schema
    .createIndex('payments_pending')
    .on('payments')
    .columns(['next_poll_at'])
    .where(sql.ref('status'), '=', 'pending')
    .execute();

  // Each provider event once: a replayed webhook finds its id here and changes nothing.
  await db.schema
    .createTable('provider_events')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('provider_events_pk', ['provider', 'event_id'])
    .execute();

  // What a provider said that does not match Marina's books (an amount, a currency, an unknown
  // reference): refused, kept here for the platform admin.
  await db.schema
    .createTable('billing_anomalies')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind IN ('amount_mismatch', 'currency_mismatch', 'unknown_reference')`),
    )
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('invoice_id', 'uuid', (c) => c.references('invoices.id'))
    .addColumn('organization_id', 'uuid', (c) => c.references('organizations.id').onDelete('set null'))
    .addColumn('expected', 'jsonb')
    .addColumn('received', 'jsonb', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('billing_anomalies_once', ['provider', 'kind', 'reference'])
    .execute();
}

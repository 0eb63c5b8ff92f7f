import { sql } from 'kysely';
import type { Db } from '../../src/db/database.js';

/** The platform's billing settings the billing tests share: a Zimbabwean seller, 14 days to pay, dunning 1/7/14 → 21. */
export const SELLER_SETTINGS = {
  seller: {
    name: 'Harare Hosting (Pvt) Ltd',
    addressLines: ['1 Samora Machel Ave', 'Harare'],
    country: 'ZW',
    taxId: 'ZW-100200',
    email: 'billing@hh.test',
  },
  dueDays: 14,
  reminderDays: [1, 7, 14],
  suspendAfterDays: 21,
  footer: 'Bank transfer: CBZ 0123456789.',
  paymentTimeoutMinutes: 60,
};

/** How many mails of `key` the outbox holds for the organization (sent or not). */
export async function outboxCount(db: Db, organizationId: string, key: string): Promise<number> {
  const row = await db
    .selectFrom('mail_outbox')
    .select(sql<string>`count(*)`.as('n'))
    .where('organization_id', '=', organizationId)
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

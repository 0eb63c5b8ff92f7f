import type { Db } from '../db/database.js';

/** Every mail Marina sends to people from a template the platform admin can edit. */
export const noticeKeys = [
  'verify_email',
  'signup_existing_account',
  'welcome',
  'invitation',
  'password_reset',
  'send_access',
  'trial_reminder',
  'trial_ended',
  'suspended',
  'resumed',
  'plan_changed',
  'deletion_notice',
  'quota_warning',
  'backup_failed',
  'alert_firing',
  'alert_resolved',
  'alert_test',
  'invoice_issued',
  'payment_received',
  'payment_reminder',
] as const;

export type NoticeKey = (typeof noticeKeys)[number];

export interface Notice {
  key: NoticeKey;
  to: string;
  /** The template's variables (the catalogue in src/modules/notices/ lists them per key). */
  vars: Record<string, unknown>;
  /** At most one mail per key: a second enqueue with the same key is ignored. */
  dedupeKey: string;
  organizationId?: string | null;
  /** The recipient's language; by default the account's with that address, else English. */
  locale?: string;
}

/**
 * The outbox port (implemented by src/modules/notices/). `enqueue` writes the mail in the caller's
 * transaction, so a step and its mail commit together; it is sent after the commit.
 */
export interface Notices {
  enqueue(trx: Db, notice: Notice): Promise<void>;
  /** Sends what is due now (also runs by itself after commits and on a timer). */
  drain(): Promise<void>;
}

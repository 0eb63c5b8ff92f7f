import type { Db } from '../../db/database.js';
import type { PartyJson } from '../../db/schema-billing.js';
import { invalid } from '../../platform/validation.js';

/** The platform's billing settings (the `settings` row `billing`; defaults when absent). */
export interface BillingSettings {
  /** Who sells: printed on every invoice. */
  seller: PartyJson;
  /** Days from issue to due date. */
  dueDays: number;
  /** Reminders, in days after the due date. */
  reminderDays: number[];
  /** Days after the due date the organization is suspended; after the last reminder. */
  suspendAfterDays: number;
  /** Printed at the foot of every invoice: payment terms, bank details for a transfer. */
  footer: string;
  /** A Paynow payment not settled after this long is given up (timed out). */
  paymentTimeoutMinutes: number;
}

export const BILLING_SETTINGS_KEY = 'billing';

export const defaultBillingSettings: BillingSettings = {
  seller: { name: 'Marina hosting', addressLines: [], country: 'US', taxId: null, email: null },
  dueDays: 14,
  reminderDays: [1, 7, 14],
  suspendAfterDays: 21,
  footer: '',
  paymentTimeoutMinutes: 60,
};

const COUNTRY = /^[A-Z]{2}$/;
/** Control characters (but tab and newline) have no place in printed text. */
const hasControl = (value: string) =>
  [...value].some((ch) => {
    const code = ch.charCodeAt(0);
    return (code < 32 && code !== 9 && code !== 10) || code === 127;
  });
const short = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length <= max && !hasControl(value);
const wholeDays = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/** A party as typed by a person: trimmed, bounded, control characters refused. */
export function validParty(value: unknown, field: string): PartyJson {
  const v = (value ?? {}) as Record<string, unknown>;
  if (!short(v.name, 200) || v.name.trim() === '') throw invalid(`${field}.name`, 'A name of 1 to 200 characters.');
  const lines = v.addressLines ?? [];
  if (!Array.isArray(lines) || lines.length > 6 || !lines.every((l) => short(l, 200)))
    throw invalid(`${field}.addressLines`, 'At most 6 address lines of at most 200 characters.');
  if (typeof v.country !== 'string' || !COUNTRY.test(v.country))
    throw invalid(`${field}.country`, 'A country is an ISO 3166 code of two upper-case letters (ZW, US).');
  const taxId = v.taxId ?? null;
  if (taxId !== null && !short(taxId, 64)) throw invalid(`${field}.taxId`, 'A tax id of at most 64 characters.');
  const email = v.email ?? null;
  if (email !== null && (!short(email, 254) || !/^[^\s@]+@[^\s@]+$/.test(email)))
    throw invalid(`${field}.email`, 'An email address.');
  return {
    name: v.name.trim(),
    addressLines: (lines as string[]).map((l) => l.trim()).filter((l) => l !== ''),
    country: v.country,
    taxId: taxId === null || (taxId as string).trim() === '' ? null : (taxId as string).trim(),
    email: email as string | null,
  };
}

/** Checks a whole settings value as the API receives it; the first problem is a 400. */
export function validBillingSettings(value: unknown): BillingSettings {
  const v = (value ?? {}) as Record<string, unknown>;
  const seller = validParty(v.seller, 'seller');
  if (!wholeDays(v.dueDays, 0, 365)) throw invalid('dueDays', 'dueDays is a whole number of days from 0 to 365.');
  const reminders = v.reminderDays;
  if (!Array.isArray(reminders) || reminders.length > 10 || !reminders.every((d) => wholeDays(d, 1, 365)))
    throw invalid('reminderDays', 'reminderDays lists up to 10 whole days from 1 to 365 after the due date.');
  const sorted = [...new Set(reminders as number[])].sort((a, b) => a - b);
  if (!wholeDays(v.suspendAfterDays, 1, 365))
    throw invalid('suspendAfterDays', 'suspendAfterDays is a whole number of days from 1 to 365.');
  if (sorted.length > 0 && (sorted.at(-1) as number) > v.suspendAfterDays)
    throw invalid('suspendAfterDays', 'The suspension comes after the last reminder.');
  if (!short(v.footer ?? '', 2000)) throw invalid('footer', 'A footer of at most 2000 characters.');
  if (!wholeDays(v.paymentTimeoutMinutes, 5, 7 * 24 * 60))
    throw invalid('paymentTimeoutMinutes', 'paymentTimeoutMinutes is from 5 minutes to 7 days.');
  return {
    seller,
    dueDays: v.dueDays,
    reminderDays: sorted,
    suspendAfterDays: v.suspendAfterDays,
    footer: (v.footer as string | undefined) ?? '',
    paymentTimeoutMinutes: v.paymentTimeoutMinutes,
  };
}

/** Reads the row; a stored value that no longer validates falls back to the defaults (and says so in the UI). */
export async function readBillingSettings(db: Db): Promise<BillingSettings> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', BILLING_SETTINGS_KEY)
    .executeTakeFirst();
  if (!row) return defaultBillingSettings;
  try {
    return validBillingSettings({ ...defaultBillingSettings, ...row.value });
  } catch {
    return defaultBillingSettings;
  }
}

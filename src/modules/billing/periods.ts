import type { PricePeriod } from '../../db/schema-selfservice.js';
import { mulDivRound } from './money.js';

/**
 * The end of a billing period that starts at `start`: one calendar month or year later in UTC, the
 * day clamped to the month's last (31 January → 28 or 29 February), as Stripe and Odoo bill.
 */
export function periodEnd(start: Date, period: PricePeriod): Date {
  const months = period === 'year' ? 12 : 1;
  const year = start.getUTCFullYear();
  const month = start.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(start.getUTCDate(), lastDay),
      start.getUTCHours(),
      start.getUTCMinutes(),
      start.getUTCSeconds(),
      start.getUTCMilliseconds(),
    ),
  );
}

/** The share of `amount` for the part of [start, end) left after `at`, in whole minor units. */
export function remainingShare(amount: bigint, start: Date, end: Date, at: Date): bigint {
  const total = BigInt(end.getTime() - start.getTime());
  if (total <= 0n) return 0n;
  const left = BigInt(Math.min(Math.max(end.getTime() - at.getTime(), 0), end.getTime() - start.getTime()));
  return mulDivRound(amount, left, total);
}

/** Monthly revenue of a price: a yearly price counts a twelfth each month (MRR). */
export function monthlyShare(amount: bigint, period: PricePeriod): bigint {
  return period === 'year' ? mulDivRound(amount, 1n, 12n) : amount;
}

export const day = (at: Date) => at.toISOString().slice(0, 10);

import { formatMoney, formatRate, minorDigits, parseDecimal } from '../../../../src/modules/billing/money';

/*
 * Money in the UI: the server's own helpers (src/modules/billing/money.ts), so a total reads the same
 * here, on the PDF and in the mails; integer minor units and string math, never a float.
 */

export { formatRate, minorDigits };

/** "USD 1,234.50" from the API's whole minor units. */
export function formatMinor(amountMinor: number, currency: string): string {
  return formatMoney(BigInt(amountMinor), currency);
}

/** The same from an amount the API passes as text ("2300"): a provider's report, kept exact. */
export function formatMinorText(amountMinor: string, currency: string): string | undefined {
  return /^-?\d{1,30}$/.test(amountMinor) ? formatMoney(BigInt(amountMinor), currency) : undefined;
}

/** What a person typed ("12.5") as whole minor units, or undefined when it is not a plain amount of the currency. */
export function minorFromText(text: string, currency: string): number | undefined {
  const minor = parseDecimal(text, currency);
  if (minor === undefined || minor > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(minor);
}

/** "15", "15.5", "7.25" (a percent, at most two decimals) as basis points: 1500, 1550, 725; undefined otherwise. */
export function basisPointsFromPercent(text: string): number | undefined {
  const match = /^(\d{1,3})(?:[.,](\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const points = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return points <= 10_000 ? points : undefined;
}

/** Basis points as the percent a person types: 1550 → "15.5". */
export function percentFromBasisPoints(points: number): string {
  const whole = Math.trunc(points / 100);
  const rest = points % 100;
  return rest === 0 ? String(whole) : `${whole}.${String(rest).padStart(2, '0').replace(/0$/, '')}`;
}

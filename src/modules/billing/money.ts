/**
 * Money is an integer count of the currency's minor unit, always with its currency: never a float.
 * Amounts are bigint inside billing (a sum of many invoices cannot lose a cent) and cross the API
 * and the database (bigint columns) as whole numbers.
 */

/** Digits after the decimal point per ISO 4217 code; a currency not listed has 2. */
const MINOR_DIGITS: Record<string, number> = { JPY: 0, KRW: 0, CLP: 0, ISK: 0, BHD: 3, KWD: 3, OMR: 3, TND: 3 };

export function minorDigits(currency: string): number {
  return MINOR_DIGITS[currency] ?? 2;
}

export interface Money {
  amountMinor: bigint;
  currency: string;
}

/** "1234.50" for 123450 USD: the plain decimal form providers' forms want (no grouping, no symbol). */
export function decimalString(amountMinor: bigint, currency: string): string {
  const digits = minorDigits(currency);
  const negative = amountMinor < 0n;
  const abs = negative ? -amountMinor : amountMinor;
  const text = abs.toString().padStart(digits + 1, '0');
  const whole = digits === 0 ? text : text.slice(0, -digits);
  const fraction = digits === 0 ? '' : `.${text.slice(-digits)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/**
 * The exact minor units of a decimal string ("10.5" → 1050n for USD); undefined for anything that
 * is not a plain non-negative decimal with at most the currency's digits.
 */
export function parseDecimal(text: string, currency: string): bigint | undefined {
  const digits = minorDigits(currency);
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return undefined;
  return BigInt((match[1] as string) + fraction.padEnd(digits, '0'));
}

/** "USD 1,234.50": how people read an amount (invoices, the UI, mails). */
export function formatMoney(amountMinor: bigint, currency: string): string {
  const plain = decimalString(amountMinor, currency);
  const [whole = '', fraction] = plain.replace('-', '').split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${amountMinor < 0n ? '-' : ''}${currency} ${grouped}${fraction !== undefined ? `.${fraction}` : ''}`;
}

/** a × num / den, rounded half away from zero: tax and pro-rating without a float. */
export function mulDivRound(a: bigint, num: bigint, den: bigint): bigint {
  if (den <= 0n) throw new RangeError('mulDivRound: the denominator must be positive');
  const product = a * num;
  const negative = product < 0n;
  const abs = negative ? -product : product;
  const rounded = (abs * 2n + den) / (2n * den);
  return negative ? -rounded : rounded;
}

/** The tax on a net amount at a rate in basis points (1500 = 15 %). */
export function taxOf(netMinor: bigint, rateBasisPoints: number): bigint {
  return mulDivRound(netMinor, BigInt(rateBasisPoints), 10_000n);
}

/** "15 %", "15.5 %" from basis points. */
export function formatRate(rateBasisPoints: number): string {
  const whole = Math.trunc(rateBasisPoints / 100);
  const rest = rateBasisPoints % 100;
  return rest === 0 ? `${whole} %` : `${whole}.${String(rest).padStart(2, '0').replace(/0$/, '')} %`;
}

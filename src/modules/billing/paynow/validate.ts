import { decimalString, parseDecimal } from '../money.js';
import { PaynowError } from './errors.js';

/**
 * Checks on what Marina sends, done before any request: Paynow's answer to a bad field is an
 * English sentence at best, and a field it silently shortens (additionalinfo) is worse.
 */

/** The currencies Paynow integrations are set up in; each has its own integration id and key. */
export type PaynowCurrency = 'USD' | 'ZWG';
export const PAYNOW_CURRENCIES: readonly PaynowCurrency[] = ['USD', 'ZWG'];

export type PaynowMobileMethod = 'ecocash' | 'onemoney';
export const PAYNOW_MOBILE_METHODS: readonly PaynowMobileMethod[] = ['ecocash', 'onemoney'];

/** Paynow's free-text field holds 255 characters; longer text would be cut, so it is refused. */
export const ADDITIONAL_INFO_MAX = 255;

const invalid = (message: string) => new PaynowError('invalid', message);

/**
 * A Zimbabwean mobile number in the local form Paynow's wallets use ("0771234567"), from
 * "0771234567", "+263771234567" or "263771234567", with spaces or dashes; undefined otherwise.
 * Any 07x prefix is taken (not just today's 071/073/077/078), so a new range is not refused
 * here: the wallet operator is the authority on whether a number exists.
 */
export function normalizeZimbabweMobile(phone: string): string | undefined {
  const compact = phone.replace(/[\s-]/g, '');
  const match = /^(?:0|\+263|263)(7\d{8})$/.exec(compact);
  return match ? `0${match[1]}` : undefined;
}

/** A merchant reference: Marina's invoice references are short ASCII, so anything else is a bug. */
export function checkReference(reference: string): string {
  if (!/^[A-Za-z0-9-]{1,50}$/.test(reference)) {
    throw invalid('the reference must be 1 to 50 letters, digits or dashes');
  }
  return reference;
}

export function checkAdditionalInfo(info: string): string {
  if (info.length > ADDITIONAL_INFO_MAX) {
    throw invalid(`additionalinfo has ${info.length} characters; Paynow keeps ${ADDITIONAL_INFO_MAX}`);
  }
  return info;
}

/** Return and result URLs are given to Paynow to call back: absolute http(s) only. */
export function checkUrl(text: string, what: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`${what} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`${what} must be http(s)`);
  return text;
}

/** Paynow needs authemail for express checkout (in test mode it must be the merchant's login). */
export function checkEmail(email: string): string {
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    throw invalid('authemail is not an email address');
  return email;
}

/**
 * "19.99" for 1999n: positive, and only amounts that read back to the same minor units, so what
 * Paynow is asked for is exactly what the invoice says.
 */
export function amountField(amountMinor: bigint, currency: PaynowCurrency): string {
  if (typeof amountMinor !== 'bigint' || amountMinor <= 0n) throw invalid('the amount must be a positive bigint');
  const text = decimalString(amountMinor, currency);
  if (parseDecimal(text, currency) !== amountMinor) throw invalid('the amount is too large');
  return text;
}

export function checkPhone(phone: string): string {
  const normalized = normalizeZimbabweMobile(phone);
  if (!normalized) throw invalid('the phone must be a Zimbabwean mobile number (07XXXXXXXX or +2637XXXXXXXX)');
  return normalized;
}

export function checkMethod(method: string): PaynowMobileMethod {
  const found = PAYNOW_MOBILE_METHODS.find((m) => m === method);
  if (!found) throw invalid(`the method must be one of ${PAYNOW_MOBILE_METHODS.join(', ')}`);
  return found;
}

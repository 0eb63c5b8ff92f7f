import { MarinaError } from '../../platform/errors.js';
import { invalid } from '../../platform/validation.js';
import type { SignupSettings } from './settings.js';

/** The domain part of a normalized address. */
export function emailDomain(email: string): string {
  return email.split('@')[1] ?? '';
}

/** `MARINA_E_SIGNUP_REFUSED` for a domain the platform admin refuses (or one of its subdomains). */
export function requireAllowedDomain(settings: SignupSettings, domain: string): void {
  if (settings.refusedDomains.some((d) => domain === d || domain.endsWith(`.${d}`)))
    throw new MarinaError('MARINA_E_SIGNUP_REFUSED', undefined, { field: 'email' });
}

/** A UI language such as `en`, `fr` or `pt-BR`; English when none is given. */
export function requireLocale(value: unknown): string {
  if (value === undefined || value === null || value === '') return 'en';
  if (typeof value !== 'string' || !/^[a-z]{2,3}([-_][A-Za-z]{2})?$/.test(value))
    throw invalid('locale', 'locale is a language code such as en or fr-BE.');
  return value;
}

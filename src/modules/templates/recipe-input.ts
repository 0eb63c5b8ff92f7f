import { COUNTRY_CODE, LANGUAGE_CODE, templateModules } from '../../odoo/template-recipe.js';
import { odooVersions, parseOdooVersion } from '../../odoo/versions.js';
import { invalid } from '../../platform/validation.js';
import { TEMPLATE_DESCRIPTION_MAX } from './schemas.js';

/** Each field of a template checked on its own: the refusal names the field and the rule. */

export function requireOdooVersion(value: unknown): string {
  const version = parseOdooVersion(value);
  if (!version) throw invalid('odooVersion', `The Odoo version must be one of ${odooVersions.join(', ')}.`);
  return version;
}

export function requireModules(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalid('modules', 'modules must be a list of Odoo module names.');
  const checked = templateModules(value);
  if ('problem' in checked) throw invalid('modules', checked.problem);
  return checked.modules;
}

export function requireLanguage(value: unknown): string {
  if (typeof value !== 'string' || !LANGUAGE_CODE.test(value))
    throw invalid('language', 'language must be an Odoo language code such as en_US or fr_BE.');
  return value;
}

export function requireCountry(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || !COUNTRY_CODE.test(value))
    throw invalid('country', 'country must be a two-letter ISO code in upper case such as BE, or null.');
  return value;
}

/** A control character other than a line break (tabs included: the page would show them oddly). */
const hasControlCharacter = (text: string) =>
  [...text].some((c) => {
    const code = c.charCodeAt(0);
    return (code < 32 && c !== '\n') || code === 127;
  });

export function requireDescription(value: unknown): string {
  if (typeof value !== 'string') throw invalid('description', 'description must be text.');
  const text = value.trim();
  if (text.length > TEMPLATE_DESCRIPTION_MAX)
    throw invalid('description', `description is longer than ${TEMPLATE_DESCRIPTION_MAX} characters.`);
  // Shown on the public sign-up page: line breaks are fine, other control characters are not.
  if (hasControlCharacter(text)) throw invalid('description', 'description must not contain control characters.');
  return text;
}

export function requireSort(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || Math.abs(value) > 100000)
    throw invalid('sort', 'sort is a whole number from -100000 to 100000.');
  return value;
}

export function requireFlag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalid(field, `${field} must be true or false.`);
  return value;
}

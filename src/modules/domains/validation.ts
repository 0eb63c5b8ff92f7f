import { isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import type { DomainMethod } from '../../db/schema.js';
import { MarinaError } from '../../platform/errors.js';

/** A custom domain as Marina keeps it: the IDNA ASCII form (stored, routed) and the Unicode form (shown). */
export interface DomainName {
  ascii: string;
  display: string;
}

const MAX_NAME = 253;
const MAX_LABEL = 63;
/** One DNS label in ASCII form: letters, digits and inner hyphens (IDNA labels are `xn--…`). */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Top-level names that never reach the public internet (RFC 2606, 6761, 6762, 7686, ICANN's
 * `.internal`, and the usual home/corporate ones). `.test` stays allowed: it is what test setups use.
 */
const PRIVATE_TOP_LEVEL = new Set([
  'localhost',
  'local',
  'localdomain',
  'internal',
  'intranet',
  'lan',
  'home',
  'corp',
  'private',
  'invalid',
  'example',
  'onion',
  'arpa',
]);

/**
 * Second-level labels under which, in two-letter country domains, registrations happen
 * (`example.co.uk`). Without a public-suffix list this is a guess, only used to choose a default
 * method; the user can always choose another.
 */
const SECOND_LEVEL_REGISTRIES = new Set(['co', 'com', 'net', 'org', 'ac', 'gov', 'edu', 'ne', 'or', 'gv']);

function invalid(reason: string, value: string): MarinaError {
  return new MarinaError('MARINA_E_DOMAIN_INVALID', `"${value}" cannot be used as a custom domain: ${reason}`, {
    field: 'hostname',
    reason,
  });
}

/**
 * The one check of a custom domain name, at the API's edge and again before any use (DNS checks,
 * routes): IDNA-normalized, lower case, one trailing dot stripped, then refused when it is
 * malformed, too long, a wildcard, an IP address, a single label, a private or reserved name, or a
 * name under the platform's own base domain (those are Marina's to give).
 */
export function normalizeDomain(input: unknown, baseDomain: string | null): DomainName {
  if (typeof input !== 'string') throw invalid('a domain name is required.', String(input));
  const shown = input.length > 300 ? `${input.slice(0, 300)}…` : input;
  let name = input.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') throw invalid('a domain name is required.', shown);
  if (name.includes('*')) throw invalid('wildcard names are not accepted; add each name on its own.', shown);
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isIP(bare) !== 0) throw invalid('an IP address is not a domain name.', shown);
  if (/[/:@?#\s\\]/.test(name)) throw invalid('give only the name, without scheme, port, path or spaces.', shown);
  if (name.length > 4 * MAX_NAME) throw invalid(`a name has at most ${MAX_NAME} characters.`, shown);
  const ascii = domainToASCII(name);
  if (ascii === '') throw invalid('it is not a valid (internationalized) domain name.', shown);
  if (ascii.length > MAX_NAME) throw invalid(`a name has at most ${MAX_NAME} characters.`, shown);
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label === '') throw invalid('it has an empty label (two dots in a row, or a leading dot).', shown);
    if (label.length > MAX_LABEL) throw invalid(`each label has at most ${MAX_LABEL} characters.`, shown);
    if (!LABEL.test(label))
      throw invalid(
        `the label "${label}" may only have letters, digits and hyphens, and not start or end with a hyphen.`,
        shown,
      );
  }
  if (labels.length < 2) throw invalid('a single word is not a public domain name (e.g. shop.example.com).', shown);
  const top = labels[labels.length - 1] ?? '';
  if (/^[0-9]+$/.test(top)) throw invalid('the last label cannot be a number.', shown);
  if (PRIVATE_TOP_LEVEL.has(top))
    throw invalid(`names under ".${top}" are private or reserved, not reachable from the internet.`, shown);
  if (baseDomain && (ascii === baseDomain || ascii.endsWith(`.${baseDomain}`)))
    throw invalid(`names under ${baseDomain} are the platform's own; every instance already has one.`, shown);
  return { ascii, display: domainToUnicode(ascii) || ascii };
}

/**
 * The method asked for by default: `apex` for a registrable name (it cannot have a CNAME), else
 * `cname`. Registrable is guessed without a public-suffix list: two labels (`example.com`), or
 * three under a country's usual second level (`example.co.uk`).
 */
export function defaultMethod(ascii: string): DomainMethod {
  const labels = ascii.split('.');
  if (labels.length === 2) return 'apex';
  const [, second, top] = labels;
  if (labels.length === 3 && top?.length === 2 && second && SECOND_LEVEL_REGISTRIES.has(second)) return 'apex';
  return 'cname';
}

export function requireMethod(value: unknown): DomainMethod {
  if (value === 'cname' || value === 'txt' || value === 'apex') return value;
  throw new MarinaError('MARINA_E_VALIDATION', 'method must be one of cname, txt, apex.', { field: 'method' });
}

/** A stored name (already ASCII) with its Unicode form, for views. */
export const domainNameOf = (ascii: string): DomainName => ({ ascii, display: domainToUnicode(ascii) || ascii });

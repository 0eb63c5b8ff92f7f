import { type MemberRole, memberRoles } from '../db/schema.js';
import { MarinaError } from './errors.js';
import { slugMessage } from './name-rule.js';

/**
 * The patterns every name must match. HTTP schemas use the same sources, so the edge and the
 * services agree; services check again because not every caller comes through HTTP.
 */
export const patterns = {
  slug: '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$',
  email:
    '^[^\\s@<>()\\[\\]\\\\,;:"\\x00-\\x1f\\x7f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$',
  /** A cluster node's name, which is its id too (src/modules/cluster/validate.ts). */
  nodeName: '^[a-z0-9][a-z0-9-]{0,39}$',
  uuid: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  // Printable text without control characters (names shown in the UI and the audit log).
  label: '^[^\\x00-\\x1f\\x7f]*$',
} as const;

export const limits = {
  email: 254,
  name: 100,
  slug: 40,
  /** An instance's name: shorter than a slug, it goes into container and database names. */
  instanceName: 30,
  tokenName: 60,
  password: { min: 12, max: 256 },
} as const;

/** The one shape of a refused input: the field, and what it should be. */
export const invalid = (field: string, message: string) => new MarinaError('MARINA_E_VALIDATION', message, { field });

/** One of the allowed values (the fallback when none is given). */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string, fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  const found = allowed.find((a) => a === value);
  if (!found) throw invalid(field, `${field} must be one of ${allowed.join(', ')}.`);
  return found;
}

export function normalizeEmail(value: unknown, field = 'email'): string {
  if (typeof value !== 'string') throw invalid(field, 'An email address is required.');
  const email = value.trim().toLowerCase();
  if (email.length > limits.email || !new RegExp(patterns.email).test(email)) {
    throw invalid(field, `"${value.slice(0, 80)}" is not a valid email address.`);
  }
  return email;
}

/** A machine name; the refusal says the rule and what the value breaks of it ("has uppercase letters, \"_\"…"). */
export function requireSlug(value: unknown, field = 'slug', maxLength: number = limits.slug): string {
  if (typeof value !== 'string') throw invalid(field, `${field} is required.`);
  const problem = slugMessage(value, maxLength);
  if (problem !== null || !new RegExp(patterns.slug).test(value)) {
    throw invalid(field, problem ?? `${field} is not a valid name.`);
  }
  return value;
}

export function requireLabel(value: unknown, field: string, max: number = limits.name): string {
  if (typeof value !== 'string') throw invalid(field, `${field} is required.`);
  const label = value.trim();
  if (label.length === 0) throw invalid(field, `${field} must not be empty.`);
  if (label.length > max) throw invalid(field, `${field} is longer than ${max} characters.`);
  if (!new RegExp(patterns.label).test(label)) throw invalid(field, `${field} must not contain control characters.`);
  return label;
}

export function requireRole(value: unknown, field = 'role'): MemberRole {
  // `member` was the only role below admin before developer and viewer; it meant looking only.
  const role = value === 'member' ? 'viewer' : memberRoles.find((r) => r === value);
  if (!role) throw invalid(field, `The role must be one of ${memberRoles.join(', ')}.`);
  return role;
}

export function isUuid(value: string): boolean {
  return new RegExp(patterns.uuid).test(value);
}

import type { Selectable } from 'kysely';
import type { Db } from '../../db/database.js';
import type { OdooTemplatesTable } from '../../db/schema.js';
import { MarinaError } from '../../platform/errors.js';
import { isUuid } from '../../platform/validation.js';
import { consoleLabel, labelPart, RESERVED_LABELS } from '../edge/names.js';
import type { SignupSettings } from './settings.js';

export type OdooTemplate = Selectable<OdooTemplatesTable>;

export const SUBDOMAIN = { min: 3, max: 40 } as const;

export type SubdomainReason = 'invalid' | 'reserved' | 'taken';

export interface SubdomainAnswer {
  name: string;
  available: boolean;
  reason: SubdomainReason | null;
  message?: string;
}

/** Where sign-up subdomains live: the edge's base domain, and the console's URL (its label is reserved). */
export interface PlatformNames {
  baseDomain: string;
  publicUrl?: string | undefined;
}

/**
 * Whether a subdomain can be had: one DNS label already in its own normal form (so what the
 * customer typed is exactly what they get), 3–40 characters, not reserved by the edge, the console
 * or the platform admin, not an instance's name nor a deleted instance's, not held by a sign-up under way.
 */
export async function subdomainAnswer(
  db: Db,
  settings: Pick<SignupSettings, 'reservedNames'>,
  /** The base domain alone, or with the public URL so that the console's own label is reserved too. */
  names: string | PlatformNames,
  raw: unknown,
  /** A new request of the same address replaces its pending one: its own hold does not count. */
  exceptEmail?: string,
): Promise<SubdomainAnswer> {
  const { baseDomain, publicUrl } = typeof names === 'string' ? { baseDomain: names, publicUrl: undefined } : names;
  const name = typeof raw === 'string' ? raw.trim() : '';
  const refuse = (reason: SubdomainReason, message: string): SubdomainAnswer => ({
    name,
    available: false,
    reason,
    message,
  });
  if (name.length < SUBDOMAIN.min || name.length > SUBDOMAIN.max || labelPart(name) !== name)
    return refuse(
      'invalid',
      `A subdomain has ${SUBDOMAIN.min} to ${SUBDOMAIN.max} characters: lower-case letters, digits and single dashes inside.`,
    );
  if (
    RESERVED_LABELS.has(name) ||
    settings.reservedNames.includes(name) ||
    name === consoleLabel(publicUrl, baseDomain)
  )
    return refuse('reserved', `${name} is reserved; pick another subdomain.`);
  const hostname = `${name}.${baseDomain}`;
  const instance = await db.selectFrom('instances').select('id').where('hostname', '=', hostname).executeTakeFirst();
  // A deleted instance's name is never given again: a stale CNAME to it would follow the newcomer.
  const released = await db
    .selectFrom('released_hostnames')
    .select('hostname')
    .where('hostname', '=', hostname)
    .executeTakeFirst();
  let heldQuery = db
    .selectFrom('signups')
    .select('id')
    .where('subdomain', '=', name)
    .where('status', 'in', ['pending', 'provisioning']);
  if (exceptEmail)
    heldQuery = heldQuery.where((eb) => eb.or([eb('status', '=', 'provisioning'), eb('email', '!=', exceptEmail)]));
  const held = await heldQuery.executeTakeFirst();
  if (instance || released || held) return refuse('taken', `${hostname} is taken; pick another subdomain.`);
  return { name, available: true, reason: null };
}

/** The same rules as a refusal: 400 for a malformed name, 409 `MARINA_E_NAME_TAKEN` otherwise. */
export function requireAvailable(answer: SubdomainAnswer): string {
  if (answer.available) return answer.name;
  if (answer.reason === 'invalid')
    throw new MarinaError('MARINA_E_VALIDATION', answer.message, { field: 'subdomain', reason: 'invalid' });
  throw new MarinaError('MARINA_E_NAME_TAKEN', answer.message, {
    field: 'subdomain',
    name: answer.name,
    reason: answer.reason,
  });
}

/**
 * A template a stranger may pick: public and not archived. Read here until the templates module
 * (src/modules/templates) offers its own `usable`.
 */
export async function usableTemplate(db: Db, id: string): Promise<OdooTemplate | undefined> {
  if (!isUuid(id)) return undefined;
  return db
    .selectFrom('odoo_templates')
    .selectAll()
    .where('id', '=', id)
    .where('public', '=', true)
    .where('archived_at', 'is', null)
    .executeTakeFirst();
}

/** What the sign-up page offers. */
export function publicTemplates(db: Db): Promise<OdooTemplate[]> {
  return db
    .selectFrom('odoo_templates')
    .selectAll()
    .where('public', '=', true)
    .where('archived_at', 'is', null)
    .orderBy('sort')
    .orderBy('name')
    .execute();
}

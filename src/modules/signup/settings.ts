import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { invalid } from '../../platform/validation.js';
import { labelPart } from '../edge/names.js';
import { saveSetting } from '../settings/setting-rows.js';

/** The platform's sign-up settings (the `settings` row `signup`; defaults when absent). */
export interface SignupSettings {
  enabled: boolean;
  /** Email domains refused at sign-up (lower case, e.g. `mailinator.com`). */
  refusedDomains: string[];
  /** Subdomains nobody may sign up with, besides the edge's own reserved names. */
  reservedNames: string[];
  perAddressPerDay: number;
  perDomainPerDay: number;
  perIpPerHour: number;
}

export const SIGNUP_SETTINGS_KEY = 'signup';

export const defaultSignupSettings: SignupSettings = {
  enabled: false,
  refusedDomains: [],
  reservedNames: [],
  perAddressPerDay: 3,
  perDomainPerDay: 20,
  perIpPerHour: 10,
};

const MAX_LIST = 500;
const DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

const count = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 100_000 ? value : fallback;

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/** Reads the row; a stored value out of shape falls back to its default rather than opening sign-up wider. */
export async function readSignupSettings(db: Db): Promise<SignupSettings> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', SIGNUP_SETTINGS_KEY).executeTakeFirst();
  const stored = (row?.value ?? {}) as Record<string, unknown>;
  const d = defaultSignupSettings;
  return {
    enabled: stored.enabled === true,
    refusedDomains: strings(stored.refusedDomains),
    reservedNames: strings(stored.reservedNames),
    perAddressPerDay: count(stored.perAddressPerDay, d.perAddressPerDay),
    perDomainPerDay: count(stored.perDomainPerDay, d.perDomainPerDay),
    perIpPerHour: count(stored.perIpPerHour, d.perIpPerHour),
  };
}

function requireList(value: unknown, field: string, check: (item: string) => boolean, rule: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST)
    throw invalid(field, `${field} is a list of at most ${MAX_LIST}.`);
  const out: string[] = [];
  for (const raw of value) {
    const item = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
    if (!check(item)) throw invalid(field, `"${String(raw).slice(0, 80)}" is not ${rule}.`);
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

function requireCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 100_000)
    throw invalid(field, `${field} is a whole number from 1 to 100000.`);
  return value;
}

export interface SignupSettingsDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  /** What sign-up needs before it can open: the edge's base domain and an SMTP server. */
  baseDomain: string | undefined;
  smtpConfigured(): Promise<boolean>;
}

/** Sign-up's switch and its abuse limits (platform admins). */
export class SignupSettingsService {
  constructor(private readonly deps: SignupSettingsDeps) {}

  read(): Promise<SignupSettings> {
    return readSignupSettings(this.deps.db);
  }

  async get(actor: Actor): Promise<SignupSettings> {
    requirePlatformAdmin(actor);
    return this.read();
  }

  async set(ctx: RequestContext, input: Record<string, unknown>): Promise<SignupSettings> {
    requirePlatformAdmin(ctx.actor);
    if (typeof input.enabled !== 'boolean') throw invalid('enabled', 'enabled is true or false.');
    const stored: SignupSettings = {
      enabled: input.enabled,
      refusedDomains: requireList(input.refusedDomains, 'refusedDomains', (d) => DOMAIN.test(d), 'a domain name'),
      reservedNames: requireList(
        input.reservedNames,
        'reservedNames',
        (n) => n.length >= 1 && n.length <= 63 && labelPart(n) === n,
        'a subdomain (lower-case letters, digits and dashes)',
      ),
      perAddressPerDay: requireCount(input.perAddressPerDay, 'perAddressPerDay'),
      perDomainPerDay: requireCount(input.perDomainPerDay, 'perDomainPerDay'),
      perIpPerHour: requireCount(input.perIpPerHour, 'perIpPerHour'),
    };
    if (stored.enabled) {
      // A customer's instance gets its address under the base domain, and the link comes by mail.
      const missing: string[] = [];
      if (!this.deps.baseDomain) missing.push('a base domain for instances (MARINA_BASE_DOMAIN)');
      if (!(await this.deps.smtpConfigured())) missing.push('an SMTP server (Settings → Mail)');
      if (missing.length > 0)
        throw new MarinaError('MARINA_E_CONFLICT', `Sign-up cannot be turned on without ${missing.join(' and ')}.`, {
          missing: missing.map((m) => (m.startsWith('a base') ? 'baseDomain' : 'smtp')),
        });
    }
    await saveSetting(this.deps, ctx, SIGNUP_SETTINGS_KEY, stored, {
      action: 'settings.update',
      target: { type: 'settings', id: SIGNUP_SETTINGS_KEY, label: 'Sign-up' },
      details: { ...stored },
    });
    return stored;
  }
}

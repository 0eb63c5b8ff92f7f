import type { Static } from 'typebox';
import {
  type CheckedAddress,
  checkOutbound,
  normalizeCidr,
  type OutboundGuard,
  OutboundLookupError,
  type OutboundPolicy,
  OutboundRefusedError,
} from '../../adapters/net/outbound.js';
import type { Db } from '../../db/database.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { MarinaError } from '../../platform/errors.js';
import { invalid } from '../../platform/validation.js';
import type { OutboundSettings as OutboundSettingsSchema } from './schemas.js';
import { saveSetting } from './setting-rows.js';

const KEY = 'outbound';
const MAX_RANGES = 50;

/** The outbound settings as the API answers them (the `OutboundSettings` schema). */
export type OutboundSettings = Static<typeof OutboundSettingsSchema>;

/** Marina's own listening ports, which no destination or remote may point at on this machine. */
export interface OutboundSettingsServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  ports: ProtectedPorts;
}

export interface ProtectedPorts {
  port: number;
  embeddedPostgresPort: number;
  instancePorts: { from: number; to: number };
}

/**
 * The platform setting behind the outbound guard: which internal address ranges a platform admin
 * allows (a MinIO on the LAN, a NAS). Everything else internal is refused.
 */
export class OutboundSettingsService {
  readonly guard: OutboundGuard;

  constructor(private readonly deps: OutboundSettingsServiceDeps) {
    this.guard = {
      policy: () => this.policy(),
      check: async (host, port) => checkOutbound(host, port, await this.policy()),
    };
  }

  private async stored(): Promise<OutboundSettings> {
    const row = await this.deps.db.selectFrom('settings').select('value').where('key', '=', KEY).executeTakeFirst();
    const ranges = row?.value.allowedRanges;
    return {
      allowedRanges: Array.isArray(ranges)
        ? ranges.filter((r): r is string => typeof r === 'string' && normalizeCidr(r) !== null)
        : [],
    };
  }

  async policy(): Promise<OutboundPolicy> {
    const { port, embeddedPostgresPort, instancePorts } = this.deps.ports;
    return {
      allowedRanges: (await this.stored()).allowedRanges,
      protectedPorts: [
        { from: port, to: port },
        { from: embeddedPostgresPort, to: embeddedPostgresPort },
        instancePorts,
      ],
    };
  }

  async get(actor: Actor): Promise<OutboundSettings> {
    requirePlatformAdmin(actor);
    return this.stored();
  }

  async set(ctx: RequestContext, input: { allowedRanges: unknown }): Promise<OutboundSettings> {
    requirePlatformAdmin(ctx.actor);
    const raw = input.allowedRanges;
    if (!Array.isArray(raw) || raw.length > MAX_RANGES)
      throw invalid('allowedRanges', `allowedRanges is a list of at most ${MAX_RANGES} CIDR ranges.`);
    const ranges: string[] = [];
    for (const item of raw) {
      const normal = typeof item === 'string' ? normalizeCidr(item) : null;
      if (!normal)
        throw invalid(
          'allowedRanges',
          `"${String(item).slice(0, 60)}" is not a CIDR range such as 10.20.0.0/16 or fd00:1::/64.`,
        );
      if (!ranges.includes(normal)) ranges.push(normal);
    }
    const stored: OutboundSettings = { allowedRanges: ranges };
    await saveSetting({ db: this.deps.db, audit: this.deps.audit, clock: this.deps.clock }, ctx, KEY, stored, {
      action: 'settings.update',
      target: { type: 'settings', id: KEY, label: 'Outbound connections' },
      details: { allowedRanges: ranges },
    });
    return stored;
  }
}

/** The one answer for a refused address: no timings, no detail of what answered there. */
export function outboundError(error: unknown): MarinaError | null {
  if (error instanceof OutboundRefusedError)
    return new MarinaError('MARINA_E_OUTBOUND_REFUSED', error.message, { host: error.host, reason: error.category });
  if (error instanceof OutboundLookupError)
    return new MarinaError(
      'MARINA_E_VALIDATION',
      `The host name "${error.host}" cannot be resolved: check the spelling and this server's DNS.`,
      { host: error.host, reason: 'dns' },
    );
  return null;
}

/** Checks a host, turning a refusal into the API's error. */
export async function requireOutbound(guard: OutboundGuard, host: string, port: number): Promise<CheckedAddress> {
  try {
    return await guard.check(host, port);
  } catch (error) {
    throw outboundError(error) ?? error;
  }
}
